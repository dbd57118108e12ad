/**
 * How typical each frame is among the candidates: the mean cosine similarity of its embedding to
 * its nearest others (neighbours.ts; high in dense regions of what the cameras see, low for
 * outliers). Weighting uncertainty by it ("information density", Settles & Craven 2008) keeps the
 * queue from spending labels on odd frames nobody will see again, which matters most while few
 * labels exist. Pure.
 */
import { type Embedded, neighbourGraph } from './neighbours.ts';

/**
 * One value per item in [−1, 1]. Frames without a (comparable) embedding get the mean of the
 * others, so they are ranked by uncertainty alone; with no embeddings at all, every value is 1.
 */
export function typicality(items: readonly Embedded[]): number[] {
  const graph = neighbourGraph(items);
  if (graph.usable.length < 2) return items.map(() => 1);
  const out = new Array<number>(items.length).fill(Number.NaN);
  for (const i of graph.usable) {
    const sims = graph.similarities[i];
    out[i] = sims.length === 0 ? 0 : sims.reduce((a, b) => a + b, 0) / sims.length;
  }
  const known = graph.usable.map((i) => out[i]);
  const mean = known.reduce((a, b) => a + b, 0) / known.length;
  return out.map((v) => (Number.isNaN(v) ? mean : v));
}
