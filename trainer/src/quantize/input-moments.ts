/**
 * Second moments E[x xᵀ] of what each weight row of a Conv or Gemm reads, measured on the fp32
 * graph's values during calibration's run over the calibration images: the metric weight-rounding.ts rounds each row against,
 * since a row's output error is δᵀ E[x xᵀ] δ for a weight error δ. A Conv row reads a patch in its
 * weights' [C, KH, KW] order (zero outside the image, as the padding reads); a depthwise row
 * reads its own channel's KH x KW patch, so each channel has its own matrix; every row of a 1x1 or
 * dense layer shares one. Large layers sample output pixels at a stride: a few thousand patches
 * per image pin the moments down and keep this a few seconds for a MobileNet. Rows longer than
 * MAX_ROW (cost grows with its square) and rows seen in fewer than 2 x their length patches (the
 * matrix would be rank-deficient, and rounding against it could fit the sample — a dense head on
 * 128 images) get no moments: they round to nearest.
 */
import { DataType, type OnnxModel, type OnnxNode } from '../onnx/onnx-proto.ts';
import { attr, intAttr } from './graph-tools.ts';

/** A row's length x length moment matrix (row-major) by output channel. */
export type RowMoments = (row: number) => Float64Array | undefined;

const PATCHES_PER_IMAGE = 2048;
const MAX_ROW = 512;
const MIN_PATCHES_PER_VALUE = 2;

type Geometry = {
  node: string;
  input: string;
  /** Values a row reads, and how many separate matrices (1 shared, or one per depthwise channel). */
  length: number;
  groups: number;
  conv?: {
    c: number;
    kh: number;
    kw: number;
    sh: number;
    sw: number;
    dh: number;
    dw: number;
    pads: number[];
  };
};

const ints = (n: OnnxNode, name: string, fallback: number[]) => {
  const a = attr(n, name);
  return a?.type === 'ints' ? [...a.value] : fallback;
};

function geometryOf(n: OnnxNode, weightDims: readonly number[]): Geometry | undefined {
  const name = n.name || n.outputs[0];
  if (n.opType === 'Conv') {
    if (weightDims.length !== 4) return undefined;
    const autoPad = attr(n, 'auto_pad');
    if (autoPad?.type === 'string' && autoPad.value !== 'NOTSET') return undefined;
    const group = intAttr(n, 'group', 1);
    const [o, ci, kh, kw] = weightDims;
    const depthwise = group > 1 && ci === 1 && o === group;
    if (group !== 1 && !depthwise) return undefined;
    const [sh, sw] = ints(n, 'strides', [1, 1]);
    const [dh, dw] = ints(n, 'dilations', [1, 1]);
    const pads = ints(n, 'pads', [0, 0, 0, 0]);
    const c = depthwise ? group : ci;
    return {
      node: name,
      input: n.inputs[0],
      length: ci * kh * kw,
      groups: depthwise ? group : 1,
      conv: { c, kh, kw, sh, sw, dh, dw, pads },
    };
  }
  if (n.opType === 'Gemm' || n.opType === 'MatMul') {
    const transB = n.opType === 'Gemm' && intAttr(n, 'transB', 0) === 1;
    return { node: name, input: n.inputs[0], length: transB ? weightDims[1] : weightDims[0], groups: 1 };
  }
  return undefined;
}

function accumulate(m: Float64Array, x: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const xi = x[i];
    if (xi === 0) continue;
    const base = i * n;
    for (let j = i; j < n; j++) m[base + j] += xi * x[j];
  }
}

function observe(g: Geometry, data: Float32Array, dims: number[], sums: Float64Array[]): number {
  const x = new Float64Array(g.length);
  if (!g.conv) {
    const rows = data.length / g.length;
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < g.length; k++) x[k] = data[r * g.length + k];
      accumulate(sums[0], x, g.length);
    }
    return rows;
  }
  const { c, kh, kw, sh, sw, dh, dw, pads } = g.conv;
  const [pt, pl, pb, pr] = pads;
  const [h, w] = [dims[2], dims[3]];
  const oh = Math.floor((h + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((w + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  const pixels = Math.max(1, oh) * Math.max(1, ow);
  const step = Math.max(1, Math.floor(pixels / PATCHES_PER_IMAGE));
  let count = 0;
  const perChannel = g.groups > 1;
  for (let p = 0; p < pixels; p += step) {
    const oy = Math.floor(p / ow);
    const ox = p % ow;
    count++;
    for (let group = 0; group < g.groups; group++) {
      let k = 0;
      for (let ch = perChannel ? group : 0; ch < (perChannel ? group + 1 : c); ch++) {
        for (let y = 0; y < kh; y++) {
          const iy = oy * sh - pt + y * dh;
          for (let xx = 0; xx < kw; xx++) {
            const ix = ox * sw - pl + xx * dw;
            x[k++] = iy >= 0 && iy < h && ix >= 0 && ix < w ? data[(ch * h + iy) * w + ix] : 0;
          }
        }
      }
      accumulate(sums[group], x, g.length);
    }
  }
  return count;
}

export type MomentCollector = {
  /** Takes one image's values by name (calibrate.ts's `observe`). */
  observe(values: ReadonlyMap<string, { data: Float32Array; dims: number[] }>): void;
  /** The moments so far, keyed by node name; rows without enough patches are left out. */
  moments(): Map<string, RowMoments>;
};

/**
 * Collects moments for every Conv/Gemm/MatMul of `model` (fp32, NCHW inside) whose weight is a
 * float initializer, from the values of the fp32 run calibration already makes.
 */
export function momentCollector(model: OnnxModel): MomentCollector {
  const inits = new Map(model.initializers.map((t) => [t.name, t]));
  const geometries: Geometry[] = [];
  for (const n of model.nodes) {
    const w = inits.get(n.inputs[1] ?? '');
    if (!w || w.dataType !== DataType.FLOAT || inits.has(n.inputs[0])) continue;
    const g = geometryOf(n, w.dims);
    if (g && g.length <= MAX_ROW) geometries.push(g);
  }
  const sums = geometries.map((g) =>
    Array.from({ length: g.groups }, () => new Float64Array(g.length * g.length)),
  );
  const counts = new Float64Array(geometries.length);
  return {
    observe(values) {
      for (const [i, g] of geometries.entries()) {
        const v = values.get(g.input);
        if (v) counts[i] += observe(g, v.data, v.dims, sums[i]);
      }
    },
    moments() {
      const result = new Map<string, RowMoments>();
      for (const [i, g] of geometries.entries()) {
        const n = g.length;
        if (counts[i] < MIN_PATCHES_PER_VALUE * n) continue;
        const full = sums[i].map((m) => {
          const f = new Float64Array(n * n);
          for (let a = 0; a < n; a++) {
            for (let b = a; b < n; b++) f[a * n + b] = f[b * n + a] = m[a * n + b] / counts[i];
          }
          return f;
        });
        result.set(g.node, (row) => (full.length === 1 ? full[0] : full[row]));
      }
      return result;
    },
  };
}
