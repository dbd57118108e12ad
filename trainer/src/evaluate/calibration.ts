/**
 * Confidence calibration (pure): expected calibration error, reliability bins, temperature scaling
 * (Guo et al. 2017, "On Calibration of Modern Neural Networks") and the capture thresholds a device
 * should use. Probabilities are row-major [n, k] softmax outputs.
 *
 * Temperature scaling divides the logits by one scalar T fitted on held-out data to minimise the
 * negative log-likelihood: it never changes the arg-max (accuracy), only how sure the model says it
 * is. From softmax outputs p, log p equals the logits minus a per-row constant, and softmax ignores
 * per-row constants, so softmax(log p / T) is exactly softmax(z / T): no logits are needed here.
 */

/** ECE's usual bin count (the figure the issue and the literature quote). */
export const ECE_BINS = 15;

export interface ReliabilityBin {
  /** Bin range of top-1 confidence: (lo, hi]. */
  lo: number;
  hi: number;
  count: number;
  /** Mean top-1 confidence of the bin's frames, and the share of them that were right. */
  confidence: number;
  accuracy: number;
}

/** The winning class of row `row` and its probability. */
export function top1(probs: ArrayLike<number>, row: number, k: number): { label: number; p: number } {
  let label = 0;
  for (let c = 1; c < k; c++) if (probs[row * k + c] > probs[row * k + label]) label = c;
  return { label, p: probs[row * k + label] };
}

/** Equal-width bins of top-1 confidence with their mean confidence and accuracy. */
export function reliabilityBins(
  probs: ArrayLike<number>,
  truth: readonly number[],
  k: number,
  bins = ECE_BINS,
): ReliabilityBin[] {
  const out = Array.from({ length: bins }, (_, b) => ({
    lo: b / bins,
    hi: (b + 1) / bins,
    count: 0,
    confidence: 0,
    accuracy: 0,
  }));
  truth.forEach((t, i) => {
    const { label, p } = top1(probs, i, k);
    const bin = out[Math.min(bins - 1, Math.max(0, Math.ceil(p * bins) - 1))];
    bin.count++;
    bin.confidence += p;
    bin.accuracy += label === t ? 1 : 0;
  });
  for (const b of out) {
    if (b.count > 0) {
      b.confidence /= b.count;
      b.accuracy /= b.count;
    }
  }
  return out;
}

/** Expected calibration error: the count-weighted mean |accuracy − confidence| over the bins. */
export function expectedCalibrationError(
  probs: ArrayLike<number>,
  truth: readonly number[],
  k: number,
  bins = ECE_BINS,
): number {
  if (truth.length === 0) return 0;
  let sum = 0;
  for (const b of reliabilityBins(probs, truth, k, bins))
    sum += b.count * Math.abs(b.accuracy - b.confidence);
  return sum / truth.length;
}

/**
 * A model output row as probabilities: kept when it already is one (non-negative, sums to 1),
 * else softmaxed (models that output logits, such as imported ones).
 */
export function asProbabilities(row: ArrayLike<number>): Float32Array {
  const out = Float32Array.from(row);
  let sum = 0;
  let negative = false;
  for (const v of out) {
    sum += v;
    if (v < 0) negative = true;
  }
  if (!negative && Math.abs(sum - 1) < 1e-3) return out;
  const max = Math.max(...out);
  let total = 0;
  for (let i = 0; i < out.length; i++) {
    out[i] = Math.exp(out[i] - max);
    total += out[i];
  }
  for (let i = 0; i < out.length; i++) out[i] /= total;
  return out;
}

/** softmax(log p / T) per row. */
export function applyTemperature(probs: ArrayLike<number>, k: number, temperature: number): Float32Array {
  const n = probs.length / k;
  const out = new Float32Array(probs.length);
  for (let i = 0; i < n; i++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < k; c++) {
      const z = Math.log(Math.max(1e-12, probs[i * k + c])) / temperature;
      out[i * k + c] = z;
      if (z > max) max = z;
    }
    let sum = 0;
    for (let c = 0; c < k; c++) {
      const e = Math.exp(out[i * k + c] - max);
      out[i * k + c] = e;
      sum += e;
    }
    for (let c = 0; c < k; c++) out[i * k + c] /= sum;
  }
  return out;
}

/** Mean negative log-likelihood of the true classes. */
export function negativeLogLikelihood(probs: ArrayLike<number>, truth: readonly number[], k: number): number {
  if (truth.length === 0) return 0;
  let total = 0;
  truth.forEach((t, i) => {
    total -= Math.log(Math.max(1e-12, probs[i * k + t]));
  });
  return total / truth.length;
}

/**
 * The temperature that minimises validation NLL: a golden-section search over log T in
 * [1/20, 20] (NLL is unimodal in T for a fixed set of logits). 1 when there is nothing to fit.
 */
export function fitTemperature(probs: ArrayLike<number>, truth: readonly number[], k: number): number {
  if (truth.length < 2) return 1;
  const nll = (logT: number) => negativeLogLikelihood(applyTemperature(probs, k, Math.exp(logT)), truth, k);
  const g = (Math.sqrt(5) - 1) / 2;
  let a = Math.log(1 / 20);
  let b = Math.log(20);
  let x1 = b - g * (b - a);
  let x2 = a + g * (b - a);
  let f1 = nll(x1);
  let f2 = nll(x2);
  for (let i = 0; i < 40; i++) {
    if (f1 < f2) {
      b = x2;
      x2 = x1;
      f2 = f1;
      x1 = b - g * (b - a);
      f1 = nll(x1);
    } else {
      a = x1;
      x1 = x2;
      f1 = f2;
      x2 = a + g * (b - a);
      f2 = nll(x2);
    }
  }
  return Math.exp((a + b) / 2);
}

export interface ThresholdRecommendation {
  /** Share of frames the thresholds are meant to send back for labelling. */
  targetCaptureRate: number;
  /** Top-1 confidence below which `targetCaptureRate` of the held-out frames fall. */
  lowConfidenceThreshold: number;
  /**
   * Per predicted class: the same quantile over the frames predicted as that class, so every
   * class sends back its share instead of the hardest class taking all of it. Classes with too
   * few predictions for a quantile are left out (they use lowConfidenceThreshold).
   */
  classThresholds: Record<string, number>;
}

/** The q-quantile (lower interpolation) of `values`, q in [0, 1]. */
function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const pos = Math.min(sorted.length - 1, Math.max(0, q * sorted.length));
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

const round4 = (v: number) => Math.round(v * 1e4) / 1e4;

/** Thresholds from calibrated held-out probabilities (see ThresholdRecommendation). */
export function recommendThresholds(
  probs: ArrayLike<number>,
  labels: readonly string[],
  targetCaptureRate = 0.1,
  minPerClass = 10,
): ThresholdRecommendation {
  const k = labels.length;
  const n = probs.length / k;
  const all: number[] = [];
  const byClass = labels.map(() => [] as number[]);
  for (let i = 0; i < n; i++) {
    const { label, p } = top1(probs, i, k);
    all.push(p);
    byClass[label].push(p);
  }
  const classThresholds: Record<string, number> = {};
  byClass.forEach((values, c) => {
    if (values.length >= minPerClass)
      classThresholds[labels[c]] = round4(quantile(values, targetCaptureRate));
  });
  return {
    targetCaptureRate,
    lowConfidenceThreshold: all.length ? round4(quantile(all, targetCaptureRate)) : 0.6,
    classThresholds,
  };
}
