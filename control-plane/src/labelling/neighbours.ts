/**
 * The nearest neighbours of each candidate frame by cosine similarity of the embeddings devices
 * send (shared/frame-embedding.ts); typicality (typicality.ts) averages their similarities. The
 * embeddings are made unit length once, so each comparison is one dot product. Pure.
 */

export const NEIGHBOURS = 20;
/**
 * Frames each one is compared with, at most: bounds the cost to O(n · REFERENCE) for a queue of
 * up to 500 × 20 candidates (about a second), while a pool this size or smaller is compared in full.
 */
const REFERENCE = 1_500;

export interface Embedded {
  embedding?: readonly number[] | null;
}

interface NeighbourGraph {
  /** Items with a comparable embedding, by index into the input. */
  usable: number[];
  /** For each input item, the cosine similarities to its nearest reference items, closest first. */
  similarities: number[][];
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
 * Unit-length copies of the embeddings of the most common length (null for the others), so a
 * similarity is one dot product (a zero vector stays zero: similarity 0).
 */
function unitEmbeddings(items: readonly Embedded[]): (Float64Array | null)[] {
  const len = commonLength(items);
  return items.map((it) => {
    if (len === null || it.embedding?.length !== len) return null;
    const v = Float64Array.from(it.embedding);
    const norm = Math.hypot(...v);
    if (norm > 0) for (let d = 0; d < v.length; d++) v[d] /= norm;
    return v;
  });
}

/** Each item's `k` nearest items among an even stride of at most REFERENCE usable items. */
export function neighbourGraph(items: readonly Embedded[], k = NEIGHBOURS): NeighbourGraph {
  const vectors = unitEmbeddings(items);
  const usable = vectors.flatMap((v, i) => (v ? [i] : []));
  const similarities = items.map((): number[] => []);
  if (usable.length < 2) return { usable, similarities };
  // An even stride through the usable frames, so the reference set spans the whole pool.
  const step = Math.max(1, usable.length / REFERENCE);
  const reference: number[] = [];
  for (let r = 0; r < usable.length && reference.length < REFERENCE; r += step)
    reference.push(usable[Math.floor(r)]);
  const topSim = new Float64Array(k);
  for (const i of usable) {
    const a = vectors[i]!;
    // The k largest similarities, kept sorted (descending) by insertion.
    let n = 0;
    for (const j of reference) {
      if (j === i) continue;
      const b = vectors[j]!;
      let sim = 0;
      for (let d = 0; d < a.length; d++) sim += a[d] * b[d];
      if (n < k) n++;
      else if (sim <= topSim[n - 1]) continue;
      let p = n - 1;
      while (p > 0 && topSim[p - 1] < sim) {
        topSim[p] = topSim[p - 1];
        p--;
      }
      topSim[p] = sim;
    }
    similarities[i] = Array.from(topSim.subarray(0, n));
  }
  return { usable, similarities };
}
