/**
 * What a `--budget` candidate will cost, from what the first candidate really cost on this machine
 * today (pure). A run's time splits into three parts that candidates share differently:
 * - fixed work (decoding the photos, exporting, checking the ONNX model): the same for everyone;
 * - bottleneck features: free for a candidate whose frozen cut, input size and variants match one
 *   already run (the cache holds them), otherwise about the first run's per-image cost again;
 * - epochs: the first run's mean epoch time × the candidate's epochs × its step cost (the part of
 *   the network that trains: retraining two blocks costs more per step than one).
 * Early stopping can only make a candidate cheaper than its estimate.
 */
import type { TrainMetrics } from '../output/model-dir.ts';

export interface MeasuredRun {
  seconds: number;
  /** Settings that decide the bottleneck features (see bottleneck-cache.ts). */
  featureKey: string;
  featureSeconds: number;
  /** Images whose features were computed (cache misses); 0 when the cache was warm. */
  featureMisses: number;
  epochSeconds: number;
  epochsRun: number;
  trainImages: number;
  variants: number;
}

type Values = Record<string, number | string | boolean | null>;

/** The settings a bottleneck cache entry depends on, as one comparable string. */
export function featureKey(values: Values): string {
  return JSON.stringify(
    ['architecture', 'alpha', 'inputSize', 'freeze', 'augmentVariants'].map((k) => values[k] ?? null),
  );
}

/** The parts of a finished run's time, from its metrics.json and its wall seconds. */
export function measureRun(metrics: TrainMetrics, seconds: number): MeasuredRun {
  const values = (metrics.recipe?.values ?? {}) as Values;
  const epochs = metrics.history.flatMap((h) => (h.seconds === undefined ? [] : [h.seconds]));
  const epochSeconds = epochs.length ? epochs.reduce((a, b) => a + b, 0) / epochs.length : seconds;
  return {
    seconds,
    featureKey: featureKey(values),
    featureSeconds: metrics.bottleneckCache?.seconds ?? 0,
    featureMisses: metrics.bottleneckCache?.misses ?? 0,
    epochSeconds,
    epochsRun: epochs.length,
    trainImages: metrics.trainImages,
    variants: Number(values.augmentVariants ?? 1),
  };
}

/**
 * Estimated seconds for a candidate with recipe `values`. `cachedKeys` are the feature settings
 * already computed by earlier candidates; `stepCost` is its per-epoch cost relative to the first's.
 */
export function estimateSeconds(
  first: MeasuredRun,
  values: Values,
  cachedKeys: ReadonlySet<string>,
  stepCost = 1,
): number {
  // Fixed work: what the first run spent outside its epochs and its features.
  const fixed = Math.max(0, first.seconds - first.featureSeconds - first.epochsRun * first.epochSeconds);
  let features = 0;
  if (!cachedKeys.has(featureKey(values))) {
    // Per image from the first run when it computed features, else about one training step's
    // worth per forward pass (the frozen part and a tail step cost about the same here).
    const perImage =
      first.featureMisses > 0
        ? first.featureSeconds / first.featureMisses
        : (first.epochSeconds / Math.max(1, first.trainImages)) * first.variants;
    const variants = Number(values.augmentVariants ?? first.variants);
    features = perImage * first.trainImages * (variants / Math.max(1, first.variants));
  }
  const epochs = Number(values.epochs ?? first.epochsRun);
  return fixed + features + epochs * first.epochSeconds * stepCost;
}
