/**
 * Pure measures over a prediction's top-k, used on both sides of the wire: the agent's capture
 * policy decides what to send back with them, the control plane's labelling queue orders by them.
 */
import type { ClassScore } from './schemas/messages.ts';

/**
 * Entropy of the top-k plus one bucket for the remaining probability, divided by its maximum
 * (log of k+1 buckets): 0 = certain, 1 = spread evenly.
 */
export function normalizedEntropy(topK: readonly ClassScore[]): number {
  const probs = topK.map((s) => s.confidence);
  const rest = Math.max(0, 1 - probs.reduce((a, b) => a + b, 0));
  if (rest > 1e-9) probs.push(rest);
  if (probs.length < 2) return 0;
  let h = 0;
  for (const p of probs) if (p > 0) h -= p * Math.log(p);
  return h / Math.log(probs.length);
}
