/**
 * A compact embedding of a frame, sent with a low-confidence sample so the labelling queue can
 * tell near-copies apart (diversity over the model's features, not only its top-k). Pure, used on
 * both sides: the agent compacts the model's `features` output with `compactEmbedding`, the
 * control plane compares stored embeddings with `embeddingDistance`, and `bench active-learning`
 * runs the same function on the same features, so it simulates exactly what a device sends.
 *
 * Compaction: a fixed random ±1 projection (Johnson–Lindenstrauss: cosine distances survive) to
 * `EMBEDDING_DIMS` values, scaled so the largest is ±127 and rounded to int8. 64 small integers
 * are about 250 bytes of JSON, bounded by the schema below.
 */
import { z } from 'zod';

export const EMBEDDING_DIMS = 64;
/** Bounds for what a device may send: anything else is rejected at the upload. */
export const EMBEDDING_MIN_DIMS = 8;
export const EMBEDDING_MAX_DIMS = 128;
/** Inputs larger than this are a model that exported the wrong tensor, not a feature vector. */
export const EMBEDDING_MAX_INPUT = 65_536;

export const FrameEmbeddingSchema = z
  .array(z.number().int().min(-127).max(127))
  .min(EMBEDDING_MIN_DIMS)
  .max(EMBEDDING_MAX_DIMS);
export type FrameEmbedding = z.infer<typeof FrameEmbeddingSchema>;

/** The sign of projection entry (row, col): a hash, so no matrix is stored or shipped. */
function sign(row: number, col: number): number {
  let h = (Math.imul(row, 0x9e3779b1) ^ Math.imul(col + 1, 0x85ebca6b)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h & 1 ? 1 : -1;
}

/** Projects a feature vector (e.g. the penultimate layer, pooled) to int8 `dims` values. */
export function compactEmbedding(features: ArrayLike<number>, dims = EMBEDDING_DIMS): number[] {
  if (features.length === 0 || features.length > EMBEDDING_MAX_INPUT)
    throw new RangeError(`features: expected 1-${EMBEDDING_MAX_INPUT} values, got ${features.length}`);
  const out = new Float64Array(dims);
  for (let i = 0; i < features.length; i++) {
    const v = features[i];
    if (!Number.isFinite(v)) throw new RangeError(`features[${i}] is not a finite number`);
    if (v === 0) continue;
    for (let d = 0; d < dims; d++) out[d] += sign(i, d) * v;
  }
  let max = 0;
  for (const v of out) max = Math.max(max, Math.abs(v));
  const scale = max > 0 ? 127 / max : 0;
  // `|| 0` turns -0 into 0, so equal vectors serialize the same.
  return Array.from(out, (v) => Math.round(v * scale) || 0);
}

/** Cosine distance (0 same direction, 2 opposite); vectors of different length are not comparable. */
export function embeddingDistance(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) return Number.NaN;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  if (na === 0 || nb === 0) return 1;
  return 1 - dot / Math.sqrt(na * nb);
}
