/**
 * Per-tensor activation statistics gathered over calibration images, and the ranges the three
 * calibration methods pick from them (pure):
 *  - minmax: the observed [min, max];
 *  - percentile: drops the extreme (100 - p)% of values on each side (p = 99.999 by default), so
 *    a few outliers do not stretch the 256 levels over a range most values never use;
 *  - entropy: the clipping threshold on |x| whose quantized distribution is closest (KL divergence)
 *    to the observed one — the TensorRT recipe, with 256 levels for non-negative tensors (post-ReLU)
 *    and 128 per side for signed ones.
 */

export type CalibrationMethod = 'minmax' | 'percentile' | 'entropy';
export const CALIBRATION_METHODS: readonly CalibrationMethod[] = ['minmax', 'percentile', 'entropy'];

export const HISTOGRAM_BINS = 2048;

export class TensorStats {
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  /** Filled in a second pass once min/max are final; counts over [min, max] or over [0, max|x|]. */
  hist: Float64Array | null = null;
  absolute = false;

  observeRange(data: Float32Array): void {
    let lo = this.min;
    let hi = this.max;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    this.min = lo;
    this.max = hi;
  }

  observeHistogram(data: Float32Array, absolute: boolean): void {
    if (!this.hist) {
      this.hist = new Float64Array(HISTOGRAM_BINS);
      this.absolute = absolute;
    }
    const hist = this.hist;
    const lo = this.absolute ? 0 : this.min;
    const hi = this.absolute ? Math.max(Math.abs(this.min), Math.abs(this.max)) : this.max;
    const width = (hi - lo) / HISTOGRAM_BINS;
    if (!(width > 0)) {
      hist[0] += data.length;
      return;
    }
    for (let i = 0; i < data.length; i++) {
      const v = this.absolute ? Math.abs(data[i]) : data[i];
      const b = Math.floor((v - lo) / width);
      hist[b < 0 ? 0 : b >= HISTOGRAM_BINS ? HISTOGRAM_BINS - 1 : b]++;
    }
  }
}

export type Range = { min: number; max: number };

export function pickRange(stats: TensorStats, method: CalibrationMethod, percentile = 99.999): Range {
  const observed = { min: stats.min, max: stats.max };
  if (method === 'minmax' || !stats.hist || !(stats.max > stats.min)) return observed;
  if (method === 'percentile') return percentileRange(stats, stats.hist, percentile);
  const maxAbs = Math.max(Math.abs(stats.min), Math.abs(stats.max));
  const levels = stats.min >= 0 ? 256 : 128;
  const t = entropyThreshold(stats.hist, levels) * maxAbs;
  return { min: Math.max(stats.min, -t), max: Math.min(stats.max, t) };
}

function percentileRange(stats: TensorStats, hist: Float64Array, p: number): Range {
  const total = hist.reduce((a, b) => a + b, 0);
  const tail = (total * (100 - p)) / 100;
  const width = (stats.max - stats.min) / HISTOGRAM_BINS;
  let lo = 0;
  for (let acc = 0; lo < HISTOGRAM_BINS - 1 && acc + hist[lo] <= tail; lo++) acc += hist[lo];
  let hi = HISTOGRAM_BINS - 1;
  for (let acc = 0; hi > lo && acc + hist[hi] <= tail; hi--) acc += hist[hi];
  return { min: stats.min + lo * width, max: stats.min + (hi + 1) * width };
}

/**
 * Returns the clipping threshold as a fraction of the histogram's range. For each candidate i, the
 * reference P is the first i bins with everything above folded into bin i-1; Q is P merged into
 * `levels` buckets and spread back evenly over each bucket's non-empty bins; the best i minimises
 * KL(P || Q).
 */
export function entropyThreshold(hist: Float64Array, levels: number): number {
  const n = hist.length;
  if (n <= levels) return 1;
  let best = n;
  let bestKl = Number.POSITIVE_INFINITY;
  const step = Math.max(1, Math.floor((n - levels) / 256));
  for (let i = levels; i <= n; i += step) {
    // P: the first i bins with the outliers above folded into the last one.
    const p = Float64Array.from(hist.subarray(0, i));
    for (let j = i; j < n; j++) p[i - 1] += hist[j];
    // Q: the first i bins *without* the outliers, merged into `levels` buckets and spread back over
    // the bins where P is non-zero; so clipping shows up as mass P has and Q lacks.
    const q = new Float64Array(i);
    for (let b = 0; b < levels; b++) {
      const start = Math.floor((b * i) / levels);
      const end = Math.floor(((b + 1) * i) / levels);
      let sum = 0;
      let nonzero = 0;
      for (let j = start; j < end; j++) {
        sum += hist[j];
        if (p[j] > 0) nonzero++;
      }
      if (nonzero === 0) continue;
      for (let j = start; j < end; j++) if (p[j] > 0) q[j] = sum / nonzero;
    }
    const kl = klDivergence(p, q);
    if (kl < bestKl) {
      bestKl = kl;
      best = i;
    }
  }
  return best / n;
}

function klDivergence(p: Float64Array, q: Float64Array): number {
  let ps = 0;
  let qs = 0;
  for (let j = 0; j < p.length; j++) {
    ps += p[j];
    qs += q[j];
  }
  if (ps === 0 || qs === 0) return Number.POSITIVE_INFINITY;
  let kl = 0;
  for (let j = 0; j < p.length; j++) {
    if (p[j] === 0) continue;
    // A reference value where Q has nothing: penalise heavily but finitely (smoothing).
    const qj = q[j] > 0 ? q[j] / qs : 1e-10;
    const pj = p[j] / ps;
    kl += pj * Math.log(pj / qj);
  }
  return kl;
}

/** Asymmetric uint8 parameters for a range that always contains 0 (so zero padding is exact). */
export function uint8Params(range: Range): { scale: number; zeroPoint: number } {
  const lo = Math.min(range.min, 0);
  const hi = Math.max(range.max, 0);
  const scale = (hi - lo) / 255;
  if (!(scale > 0) || !Number.isFinite(scale)) return { scale: 1, zeroPoint: 0 };
  const zeroPoint = Math.min(255, Math.max(0, Math.round(-lo / scale)));
  return { scale, zeroPoint };
}
