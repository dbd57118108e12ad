/**
 * How far a calibration figure measured on a few hundred frames can be trusted (pure).
 *
 * The 15-bin ECE of a few hundred frames is noisy: a bin of 15 frames at 60% confidence holds
 * 9 ± 1.9 right answers even for a perfectly calibrated model, and the ECE adds those deviations
 * up. So beside the required 15-bin figure this reports
 * - the **noise floor**: the ECE a *perfectly calibrated* model with the same confidences would
 *   show on this many frames (consistency resampling, Bröcker & Smith 2007: each frame is "right"
 *   with probability equal to its confidence). A measured ECE inside its range cannot be told apart
 *   from perfect calibration on this data;
 * - a **bootstrap** 95% interval of the ECE (frames resampled with replacement);
 * - the **adaptive** ECE: equal-mass bins (Nixon et al. 2019), less sensitive to near-empty bins;
 * - the **cross-fitted** ECE: each fold calibrated with a temperature fitted on the other folds
 *   only, so the figure is not measured on the frames the temperature was fitted to.
 */
import { createRng, type EceDetail } from '@edgeloop/shared';
import { applyTemperature, ECE_BINS, fitTemperature, negativeLogLikelihood, top1 } from './calibration.ts';

export type { EceDetail };

/** Top-1 confidence and whether it was right, per frame. */
function confidences(probs: ArrayLike<number>, truth: readonly number[], k: number) {
  const conf = new Float64Array(truth.length);
  const correct = new Uint8Array(truth.length);
  truth.forEach((t, i) => {
    const { label, p } = top1(probs, i, k);
    conf[i] = p;
    correct[i] = label === t ? 1 : 0;
  });
  return { conf, correct };
}

/** Equal-width binned ECE over the frames `rows` (with repeats), right answers given by `right`. */
function binnedEce(
  conf: Float64Array,
  right: (row: number) => number,
  rows: ArrayLike<number>,
  bins: number,
) {
  const count = new Float64Array(bins);
  const sumConf = new Float64Array(bins);
  const sumRight = new Float64Array(bins);
  for (let j = 0; j < rows.length; j++) {
    const i = rows[j];
    const b = Math.min(bins - 1, Math.max(0, Math.ceil(conf[i] * bins) - 1));
    count[b]++;
    sumConf[b] += conf[i];
    sumRight[b] += right(i);
  }
  let total = 0;
  for (let b = 0; b < bins; b++) total += Math.abs(sumRight[b] - sumConf[b]);
  return rows.length ? total / rows.length : 0;
}

/** ECE over equal-mass bins of top-1 confidence (each bin holds ~n/bins frames). */
export function adaptiveCalibrationError(
  probs: ArrayLike<number>,
  truth: readonly number[],
  k: number,
  bins = ECE_BINS,
): number {
  const n = truth.length;
  if (n === 0) return 0;
  const { conf, correct } = confidences(probs, truth, k);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => conf[a] - conf[b]);
  let total = 0;
  for (let b = 0; b < bins; b++) {
    const slice = order.slice(Math.floor((b * n) / bins), Math.floor(((b + 1) * n) / bins));
    let gap = 0;
    for (const i of slice) gap += correct[i] - conf[i];
    total += Math.abs(gap);
  }
  return total / n;
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))];
}

/** Bootstrap interval, noise floor and adaptive ECE (see the file comment); seeded, so repeatable. */
export function eceDetail(
  probs: ArrayLike<number>,
  truth: readonly number[],
  k: number,
  options: { samples?: number; seed?: number; bins?: number } = {},
): EceDetail {
  const n = truth.length;
  const bins = options.bins ?? ECE_BINS;
  const samples = options.samples ?? 500;
  const rng = createRng(options.seed ?? 1);
  const { conf, correct } = confidences(probs, truth, k);
  const all = Uint32Array.from({ length: n }, (_, i) => i);
  const rows = new Uint32Array(n);
  const boot: number[] = [];
  const floor: number[] = [];
  const drawn = new Uint8Array(n);
  for (let s = 0; s < samples && n > 0; s++) {
    for (let j = 0; j < n; j++) rows[j] = Math.floor(rng() * n);
    boot.push(binnedEce(conf, (i) => correct[i], rows, bins));
    for (let i = 0; i < n; i++) drawn[i] = rng() < conf[i] ? 1 : 0;
    floor.push(binnedEce(conf, (i) => drawn[i], all, bins));
  }
  boot.sort((a, b) => a - b);
  floor.sort((a, b) => a - b);
  const mean = floor.length ? floor.reduce((a, b) => a + b, 0) / floor.length : 0;
  return {
    adaptive: adaptiveCalibrationError(probs, truth, k, bins),
    interval: n > 0 ? [percentile(boot, 0.025), percentile(boot, 0.975)] : [0, 0],
    noiseFloor: { mean, p95: n > 0 ? percentile(floor, 0.95) : 0 },
  };
}

/** A seeded assignment of n frames to `folds` folds of (almost) equal size. */
export function assignFolds(n: number, folds: number, seed: number): number[] {
  const rng = createRng(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const fold = new Array<number>(n);
  order.forEach((row, pos) => {
    fold[row] = pos % folds;
  });
  return fold;
}

type TemperatureFitter = (probs: Float32Array, truth: number[], k: number) => number;

/**
 * Cross-fitting: every fold is rescaled by a temperature fitted on the other folds only, so no
 * frame is calibrated by a fit that saw it. Returns the out-of-fold probabilities and each fold's
 * temperature. `fit` is the temperature fitter (NLL by default).
 */
export function crossFitTemperature(
  probs: ArrayLike<number>,
  truth: readonly number[],
  k: number,
  options: { folds?: number; seed?: number; fit?: TemperatureFitter } = {},
): { probs: Float32Array; temperatures: number[] } {
  const n = truth.length;
  const folds = Math.max(2, Math.min(options.folds ?? 5, n));
  const fit = options.fit ?? fitTemperature;
  const fold = assignFolds(n, folds, options.seed ?? 1);
  const out = new Float32Array(n * k);
  const temperatures: number[] = [];
  for (let f = 0; f < folds; f++) {
    const inside = fold.flatMap((g, i) => (g === f ? [i] : []));
    const outside = fold.flatMap((g, i) => (g === f ? [] : [i]));
    const rows = (idx: number[]) => {
      const p = new Float32Array(idx.length * k);
      idx.forEach((i, j) => {
        for (let c = 0; c < k; c++) p[j * k + c] = probs[i * k + c];
      });
      return p;
    };
    const t =
      outside.length > 1
        ? fit(
            rows(outside),
            outside.map((i) => truth[i]),
            k,
          )
        : 1;
    temperatures.push(t);
    const scaled = applyTemperature(rows(inside), k, t);
    inside.forEach((i, j) => {
      out.set(scaled.subarray(j * k, (j + 1) * k), i * k);
    });
  }
  return { probs: out, temperatures };
}

/**
 * Whether rescaling by a fitted temperature helps on frames the fit did not see: the cross-fitted
 * NLL against the NLL as the probabilities stand. Used to decide the int8 model's residual
 * temperature, where a fit on the same frames would always "help" a little.
 */
export function temperatureHelpsOutOfFold(
  probs: ArrayLike<number>,
  truth: readonly number[],
  k: number,
  seed = 1,
): { helps: boolean; nllAsIs: number; nllCrossFit: number } {
  const nllAsIs = negativeLogLikelihood(probs, truth, k);
  const nllCrossFit = negativeLogLikelihood(crossFitTemperature(probs, truth, k, { seed }).probs, truth, k);
  return { helps: nllCrossFit < nllAsIs, nllAsIs, nllCrossFit };
}
