/** Model output → ranked class scores. Pure functions. */
import { type ClassScore, EdgeloopError, type OutputSpec } from '@edgeloop/shared';

/** Numerically stable softmax: subtracting the max keeps exp() from overflowing. */
export function softmax(logits: ArrayLike<number>): Float32Array {
  const out = new Float32Array(logits.length);
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    out[i] = Math.exp(logits[i] - max);
    sum += out[i];
  }
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

/** The k best classes, best first; ties keep label order. Confidences are clamped to [0, 1]. */
export function topK(probabilities: ArrayLike<number>, labels: readonly string[], k: number): ClassScore[] {
  if (probabilities.length !== labels.length) {
    throw new EdgeloopError(
      'MODEL_INVALID',
      `model returned ${probabilities.length} scores for ${labels.length} labels`,
    );
  }
  // Selection into a k-long list rather than sorting all classes: 1000 ImageNet classes, k = 3–5.
  const want = Math.min(Math.max(1, k), labels.length);
  const best: number[] = [];
  for (let i = 0; i < probabilities.length; i++) {
    const p = probabilities[i];
    const full = best.length === want;
    if (full && !(p > probabilities[best[want - 1]])) continue; // ties keep the earlier label
    if (!full) best.push(i);
    let j = best.length - 1;
    while (j > 0 && probabilities[best[j - 1]] < p) {
      best[j] = best[j - 1];
      j--;
    }
    best[j] = i;
  }
  return best.map((i) => ({
    label: labels[i],
    confidence: Math.min(1, Math.max(0, Number.isFinite(probabilities[i]) ? probabilities[i] : 0)),
  }));
}

/** Output of a batch-of-one run → top-k, applying softmax first when the model emits logits. */
export function classify(
  output: Float32Array,
  spec: Pick<OutputSpec, 'kind'>,
  labels: readonly string[],
  k: number,
): ClassScore[] {
  const probabilities = spec.kind === 'logits' ? softmax(output) : output;
  return topK(probabilities, labels, k);
}
