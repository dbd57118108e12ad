/**
 * Kernels that compute a whole gradient in one pass, for the gradient overrides in
 * fast-gradients.ts. tfjs builds these gradients from 3–15 separate elementwise ops, each a full
 * pass over an activation-sized tensor with a fresh allocation (ReLU6's backward alone is
 * GreaterEqual, LessEqual, LogicalAnd, ZerosLike, Select, Step and Multiply). The expressions
 * round exactly like the stock op sequences except FusedBatchNorm's, whose sums are taken in
 * doubles. Kernel names are ours (prefixed Edgeloop) and exist only on the 'cpu' backend.
 */
import { rowWalk } from './broadcast.ts';
import { takeArray } from './buffer-pool.ts';
import {
  attrsOf,
  cpuKernelConfig,
  f32Input,
  type KernelArgs,
  type KernelConfig,
  makeF32,
  type TensorInfo,
} from './kernel-util.ts';

function need<T>(v: T | null): T {
  // The gradient overrides check dtypes and shapes before calling these kernels.
  if (v == null) throw new Error('edgeloop gradient kernel called with a non-float32 input');
  return v;
}

/** dy * step(x), as mul(dy, step(x)): 1 for x > 0, NaN for NaN, else 0. */
function reluGrad(args: KernelArgs): TensorInfo {
  const dy = need(f32Input(args, 'dy'));
  const x = need(f32Input(args, 'x')).values;
  const d = dy.values;
  const out = takeArray(d.length);
  for (let i = 0; i < d.length; i++) {
    const e = x[i];
    out[i] = d[i] * (e > 0 ? 1 : Number.isNaN(e) ? Number.NaN : 0);
  }
  return makeF32(args.backend, dy.shape, out);
}

/** where(min <= x <= max, dy, 0) with the bounds rounded to float32 as tfjs does. */
function clipGrad(args: KernelArgs): TensorInfo {
  const dy = need(f32Input(args, 'dy'));
  const x = need(f32Input(args, 'x')).values;
  const a = attrsOf(args);
  const lo = Math.fround(a.clipValueMin as number);
  const hi = Math.fround(a.clipValueMax as number);
  const d = dy.values;
  const out = takeArray(d.length);
  for (let i = 0; i < d.length; i++) {
    const e = x[i];
    out[i] = e >= lo && e <= hi ? d[i] : 0;
  }
  return makeF32(args.backend, dy.shape, out);
}

/** dy * (2x). */
function squareGrad(args: KernelArgs): TensorInfo {
  const dy = need(f32Input(args, 'dy'));
  const x = need(f32Input(args, 'x')).values;
  const d = dy.values;
  const out = takeArray(d.length);
  for (let i = 0; i < d.length; i++) out[i] = d[i] * Math.fround(x[i] * 2);
  return makeF32(args.backend, dy.shape, out);
}

/** dy (of the reduced shape, kept dims) broadcast to `shape` and divided by the reduction size. */
function meanGrad(args: KernelArgs): TensorInfo {
  const dy = need(f32Input(args, 'dy')).values;
  const a = attrsOf(args);
  const shape = a.shape as number[];
  const walk = rowWalk(a.expandedShape as number[], shape);
  if (walk == null) throw new Error('edgeloop mean gradient: shapes do not broadcast');
  const n = a.reduceSize as number;
  const p = shape.length === 0 ? 1 : shape[shape.length - 1];
  const out = new Float32Array(walk.offsets.length * p);
  const { offsets, inner } = walk;
  for (let r = 0, o = 0; r < offsets.length; r++) {
    const base = offsets[r];
    for (let j = 0; j < p; j++) out[o++] = dy[base + j * inner] / n;
  }
  return makeF32(args.backend, shape, out);
}

/**
 * All five FusedBatchNorm gradients for per-channel ([C]) statistics over x [..., C]:
 * with r = 1/sqrt(var + eps), dx = dy*r*scale, dOffset = Σdy, dScale = r Σdy(x-mean),
 * dMean = -r*scale Σdy, dVariance = -r³/2 * scale Σdy(x-mean); sums over all leading axes.
 */
function batchNormGrad(args: KernelArgs): TensorInfo[] {
  const x = need(f32Input(args, 'x'));
  const dy = need(f32Input(args, 'dy')).values;
  const mean = need(f32Input(args, 'mean')).values;
  const variance = need(f32Input(args, 'variance')).values;
  const scaleIn = args.inputs.scale == null ? null : need(f32Input(args, 'scale')).values;
  const eps = attrsOf(args).varianceEpsilon as number;
  const c = mean.length;
  const r = new Float64Array(c);
  const rs = new Float64Array(c);
  for (let k = 0; k < c; k++) {
    r[k] = 1 / Math.sqrt(Math.fround(variance[k] + eps));
    rs[k] = r[k] * (scaleIn == null ? 1 : scaleIn[k]);
  }
  const xv = x.values;
  const dx = takeArray(xv.length);
  const sumDy = new Float64Array(c);
  const sumDyXm = new Float64Array(c);
  for (let i = 0; i < xv.length; i += c) {
    for (let k = 0; k < c; k++) {
      const g = dy[i + k];
      sumDy[k] += g;
      sumDyXm[k] += g * (xv[i + k] - mean[k]);
      dx[i + k] = g * rs[k];
    }
  }
  const dMean = new Float32Array(c);
  const dVariance = new Float32Array(c);
  const dScale = new Float32Array(c);
  const dOffset = new Float32Array(c);
  for (let k = 0; k < c; k++) {
    dMean[k] = -rs[k] * sumDy[k];
    dVariance[k] = -0.5 * r[k] * r[k] * rs[k] * sumDyXm[k];
    dScale[k] = r[k] * sumDyXm[k];
    dOffset[k] = sumDy[k];
  }
  const cShape = [c];
  return [
    makeF32(args.backend, x.shape, dx),
    makeF32(args.backend, cShape, dMean),
    makeF32(args.backend, cShape, dVariance),
    makeF32(args.backend, cShape, dScale),
    makeF32(args.backend, cShape, dOffset),
  ];
}

export const GRADIENT_KERNEL = {
  relu: 'EdgeloopReluGrad',
  clip: 'EdgeloopClipByValueGrad',
  square: 'EdgeloopSquareGrad',
  mean: 'EdgeloopMeanGrad',
  batchNorm: 'EdgeloopFusedBatchNormGrad',
} as const;

/** The kernel configs for the 'cpu' backend. */
export function gradientKernelConfigs(): KernelConfig[] {
  return [
    cpuKernelConfig(GRADIENT_KERNEL.relu, reluGrad),
    cpuKernelConfig(GRADIENT_KERNEL.clip, clipGrad),
    cpuKernelConfig(GRADIENT_KERNEL.square, squareGrad),
    cpuKernelConfig(GRADIENT_KERNEL.mean, meanGrad),
    cpuKernelConfig(GRADIENT_KERNEL.batchNorm, batchNormGrad),
  ];
}
