/**
 * How typical each frame is among the candidates: the mean cosine similarity of its embedding to
 * its `NEIGHBOURS` nearest others (high in dense regions of what the cameras see, low for
 * outliers). Weighting uncertainty by it ("information density", Settles & Craven 2008) keeps the
 * queue from spending labels on odd frames nobody will see again, which matters most while few
 * labels exist. Pure.
 */
import { embeddingDistance } from '@edgeloop/shared';

const NEIGHBOURS = 20;
/**
 * Frames each one is compared with, at most: bounds the cost to O(n · REFERENCE) for a queue of
 * up to 500 × 20 candidates (about a second), while a pool this size or smaller is compared in full.
 */
const REFERENCE = 1_500;

interface Embedded {
  embedding?: readonly number[] | null;
}

/** The embedding length most candidates share: only those are compared with each other. */
function commonLength(items: readonly Embedded[]): number | null {
  const counts = new Map<number, number>();
  for (const it of items)
    if (it.embedding) counts.set(it.embedding.length, (counts.get(it.embedding.length) ?? 0) + 1);
  let best: number | null = null;
  for (const [len, n] of counts) if (best === null || n > counts.get(best)!) best = len;
  return best;
}

/**
 * One value per item in [−1, 1]. Frames without a (comparable) embedding get the mean of the
 * others, so they are ranked by uncertainty alone; with no embeddings at all, every value is 1.
 */
export function typicality(items: readonly Embedded[]): number[] {
  const len = commonLength(items);
  const usable = items.map((it) => (len !== null && it.embedding?.length === len ? it.embedding : null));
  const indices = usable.flatMap((e, i) => (e ? [i] : []));
  if (indices.length < 2) return items.map(() => 1);
  // An even stride through the usable frames, so the reference set spans the whole pool.
  const step = Math.max(1, indices.length / REFERENCE);
  const reference: number[] = [];
  for (let k = 0; k < indices.length && reference.length < REFERENCE; k += step)
    reference.push(indices[Math.floor(k)]);
  const out = new Array<number>(items.length).fill(Number.NaN);
  const top = new Float64Array(NEIGHBOURS);
  for (const i of indices) {
    // The NEIGHBOURS largest similarities, kept sorted (descending) by insertion.
    let n = 0;
    for (const j of reference) {
      if (j === i) continue;
      const sim = 1 - embeddingDistance(usable[i]!, usable[j]!);
      if (n < NEIGHBOURS) n++;
      else if (sim <= top[n - 1]) continue;
      let p = n - 1;
      while (p > 0 && top[p - 1] < sim) {
        top[p] = top[p - 1];
        p--;
      }
      top[p] = sim;
    }
    let sum = 0;
    for (let k = 0; k < n; k++) sum += top[k];
    out[i] = n === 0 ? 0 : sum / n;
  }
  const known = indices.map((i) => out[i]);
  const mean = known.reduce((a, b) => a + b, 0) / known.length;
  return out.map((v) => (Number.isNaN(v) ? mean : v));
}
