/**
 * How int8 weights are rounded, per output channel ("row"):
 *
 * 1. The range. onnxruntime's x86 integer kernels without VNNI (MlasConvSymKernelAvx2, the U8S8
 *    QGEMM) multiply uint8 activations by int8 weights with VPMADDUBSW, which adds each pair of
 *    neighbours along the reduction axis into an int16 that saturates. The reduction axis is a
 *    Conv's (kernel row, kernel column, input channel) in channels-last order (onnxruntime computes
 *    convs channels-last) and a Gemm's K. A row's scale is chosen so that every such pair sums to at
 *    most 128 in magnitude (255 x 128 fits int16): no input can saturate, and a row gets between 7
 *    bits (its two largest weights share a pair and a sign) and 8 (its largest weight's neighbour is
 *    small or of the other sign). A flat [-63, 63] gives the same guarantee with a coarser step in
 *    every row. `full` is for kernels that widen to int16 first (depthwise Conv) or CPUs with VNNI
 *    or ARM dot products: the plain [-127, 127].
 * 2. The rounding. Round-to-nearest minimises each weight's own error, not the layer's output
 *    error: with the second moments M = E[x xᵀ] of the inputs a row reads (input-moments.ts), the
 *    output error of a row is δᵀ M δ, δ = w - s q. Starting from nearest, each weight may move to its
 *    other rounding neighbour (floor or ceil of w/s, never further) when that lowers δᵀ M δ,
 *    coordinate by coordinate until no move helps — the objective of AdaRound (Nagel et al., "Up or
 *    Down? Adaptive Rounding for Post-Training Quantization", 2020) solved greedily instead of by
 *    gradient descent, which is exact enough for 9-tap depthwise rows and cheap for 1x1 rows.
 */

/** How a weight tensor's rows meet the integer kernel; see the module comment. */
export type WeightLayout = 'full' | 'conv' | 'gemm';

/**
 * Row geometry of a weight tensor as ONNX stores it, channels along `axis`: Conv [O, C, KH, KW]
 * (axis 0), Gemm B [N, K] (transB, axis 0) or [K, N] (axis 1).
 */
export type WeightRows = {
  channels: number;
  length: number;
  /** Flat index of element r of row o. Rows are in the order the weights sit in a Conv's [C, KH, KW] or a Gemm's K. */
  at(o: number, r: number): number;
  /** For each position in a row, the position VPMADDUBSW pairs it with, or -1. */
  partner: Int32Array;
};

export function weightRows(dims: readonly number[], layout: WeightLayout, axis: number): WeightRows {
  const columns = axis === 1;
  const channels = columns ? dims[1] : dims[0];
  const length = dims.reduce((a, b) => a * b, 1) / channels;
  const at = columns ? (o: number, r: number) => r * channels + o : (o: number, r: number) => o * length + r;
  const pairOf = new Int32Array(length);
  if (layout === 'conv') {
    const [c, kh, kw] = [dims[1], dims[2] ?? 1, dims[3] ?? 1];
    for (let r = 0; r < length; r++) {
      // r = (ci * KH + y) * KW + x; channels-last position (y * KW + x) * C + ci
      const x = r % kw;
      const y = Math.floor(r / kw) % kh;
      const ci = Math.floor(r / (kw * kh));
      pairOf[r] = ((y * kw + x) * c + ci) >> 1;
    }
  } else {
    for (let r = 0; r < length; r++) pairOf[r] = r >> 1;
  }
  // 'full': no pairs to keep apart.
  const partner = new Int32Array(length).fill(-1);
  if (layout !== 'full') {
    const first = new Map<number, number>();
    for (let r = 0; r < length; r++) {
      const p = first.get(pairOf[r]);
      if (p === undefined) first.set(pairOf[r], r);
      else [partner[r], partner[p]] = [p, r];
    }
  }
  return { channels, length, at, partner };
}

/**
 * Per row, the magnitude the row's scale must map to 127: its largest weight for 'full', else the
 * largest same-sign sum of a VPMADDUBSW pair (a lone weight counts as a pair of one; uint8
 * activations are never negative, so opposite signs partly cancel). With s = bound / 127,
 * |w1|/s + |w2|/s <= 127, so the nearest-rounded pair stays within 128.
 */
export function rowBounds(data: Float32Array, rows: WeightRows): Float32Array {
  const out = new Float32Array(rows.channels);
  for (let o = 0; o < rows.channels; o++) {
    let m = 0;
    for (let r = 0; r < rows.length; r++) {
      const v = data[rows.at(o, r)];
      const p = rows.partner[r];
      const u = p < 0 ? 0 : data[rows.at(o, p)];
      const same = Math.sign(u) === Math.sign(v) ? Math.abs(u) : 0;
      m = Math.max(m, Math.abs(v) + same);
    }
    out[o] = m;
  }
  return out;
}

export const QMAX = 127;
/** Largest same-sign pair VPMADDUBSW can add without saturating: 255 * 128 <= 32767. */
const PAIR_MAX = 128;

function pairFits(q: number, partnerQ: number): boolean {
  return Math.sign(q) !== Math.sign(partnerQ) || Math.abs(q) + Math.abs(partnerQ) <= PAIR_MAX;
}

/**
 * Integer weights of one tensor: nearest rounding, then, for rows with input moments, the greedy
 * output-error descent of the module comment. `moments(o)` returns the row's length x length
 * second-moment matrix (row-major), or undefined to keep nearest rounding.
 */
export function roundWeights(
  data: Float32Array,
  rows: WeightRows,
  scales: Float32Array,
  moments?: (o: number) => Float64Array | undefined,
): Int8Array {
  const q = new Int8Array(data.length);
  const n = rows.length;
  const row = new Int32Array(n);
  const delta = new Float64Array(n);
  const g = new Float64Array(n);
  for (let o = 0; o < rows.channels; o++) {
    const s = scales[o];
    for (let r = 0; r < n; r++) {
      row[r] = Math.max(-QMAX, Math.min(QMAX, Math.round(data[rows.at(o, r)] / s)));
    }
    const m = moments?.(o);
    if (m) descend(data, rows, o, s, row, m, delta, g);
    for (let r = 0; r < n; r++) q[rows.at(o, r)] = row[r];
  }
  return q;
}

function descend(
  data: Float32Array,
  rows: WeightRows,
  o: number,
  s: number,
  row: Int32Array,
  m: Float64Array,
  delta: Float64Array,
  g: Float64Array,
): void {
  const n = rows.length;
  for (let r = 0; r < n; r++) delta[r] = data[rows.at(o, r)] - s * row[r];
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let j = 0; j < n; j++) sum += m[i * n + j] * delta[j];
    g[i] = sum;
  }
  for (let pass = 0; pass < 8; pass++) {
    let moved = false;
    for (let i = 0; i < n; i++) {
      const exact = data[rows.at(o, i)] / s;
      const other = row[i] > exact ? Math.floor(exact) : Math.ceil(exact);
      if (other === row[i] || Math.abs(other) > QMAX) continue;
      const p = rows.partner[i];
      if (p >= 0 && !pairFits(other, row[p])) continue;
      const d = -s * (other - row[i]);
      const change = 2 * d * g[i] + d * d * m[i * n + i];
      if (!(change < 0)) continue;
      row[i] = other;
      delta[i] += d;
      for (let j = 0; j < n; j++) g[j] += d * m[j * n + i];
      moved = true;
    }
    if (!moved) break;
  }
}
