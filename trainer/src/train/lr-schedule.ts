/**
 * Learning rate per optimizer step: linear warmup, then cosine decay to `minFraction` of the peak.
 * Warmup keeps the first Adam steps from wrecking pretrained weights while the new head is still
 * random; the cosine tail lets the last epochs settle.
 */
export interface LrSchedule {
  peak: number;
  warmupSteps: number;
  totalSteps: number;
  /** Final learning rate as a fraction of the peak. */
  minFraction: number;
}

export function learningRateAt(s: LrSchedule, step: number): number {
  if (s.warmupSteps > 0 && step < s.warmupSteps) return (s.peak * (step + 1)) / s.warmupSteps;
  const span = Math.max(1, s.totalSteps - s.warmupSteps);
  const t = Math.min(1, Math.max(0, (step - s.warmupSteps) / span));
  const min = s.peak * s.minFraction;
  return min + (s.peak - min) * 0.5 * (1 + Math.cos(Math.PI * t));
}
