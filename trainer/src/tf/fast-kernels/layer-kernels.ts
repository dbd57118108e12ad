/**
 * Kernels for the fused layer paths of layer-patches.ts: training-mode batch normalisation over all
 * but the last axis and ReLU6, each with its gradient. tfjs runs a training-mode BatchNormalization
 * as Mean, Sub, Square, Mean, FusedBatchNorm (and a dozen more ops backwards) and ReLU6 as Relu then
 * ClipByValue; here each is one to three passes over the activations. The batch-norm forward keeps
 * tf.moments's float32 mean and (biased) variance, summed in doubles; the gradient is the closed
 * form of what tfjs's chain of op gradients computes. ReLU6 uses the stock expressions exactly.
 */
import {
  attrsOf,
  cpuKernelConfig,
  f32Input,
  type KernelArgs,
  type KernelConfig,
  makeF32,
  type TensorInfo,
} from './kernel-util.ts';
import {
  type BnForward,
  type BnGrad,
  bnForwardWasm,
  bnGradWasm,
  channelPasses,
  relu6GradWasm,
  relu6Wasm,
} from './layer-wasm.ts';
import type { ChannelPasses } from './wasm/channel-runtime.ts';

function need<T>(v: T | null): T {
  // layer-patches.ts checks dtypes and shapes before it calls these kernels.
  if (v == null) throw new Error('edgeloop layer kernel called with a non-float32 input');
  return v;
}

/**
 * x [..., C], gamma [C], beta [C] -> y, mean [C], variance [C] (biased, as tf.moments); on the SIMD
 * passes when given them and C is a multiple of 4, else in JS with double sums.
 */
export function bnForwardValues(
  xv: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  eps: number,
  cp: ChannelPasses | null,
): BnForward {
  const c = gamma.length;
  if (cp != null && c % 4 === 0) return bnForwardWasm(cp, xv, gamma, beta, eps);
  const rows = xv.length / c;
  const acc = new Float64Array(c);
  for (let i = 0; i < xv.length; i += c) for (let k = 0; k < c; k++) acc[k] += xv[i + k];
  const mean = new Float32Array(c);
  for (let k = 0; k < c; k++) mean[k] = acc[k] / rows;
  acc.fill(0);
  // Two passes (mean, then squared deviations) as tf.moments, so a large mean cannot cancel.
  for (let i = 0; i < xv.length; i += c) {
    for (let k = 0; k < c; k++) {
      const d = xv[i + k] - mean[k];
      acc[k] += d * d;
    }
  }
  const variance = new Float32Array(c);
  const mul = new Float64Array(c);
  for (let k = 0; k < c; k++) {
    variance[k] = acc[k] / rows;
    mul[k] = gamma[k] / Math.sqrt(Math.fround(variance[k] + eps));
  }
  const y = new Float32Array(xv.length);
  for (let i = 0; i < xv.length; i += c) {
    for (let k = 0; k < c; k++) y[i + k] = beta[k] + (xv[i + k] - mean[k]) * mul[k];
  }
  return { y, mean, variance };
}

/**
 * tfjs-layers' moving-average update, orig - (orig - value) * decay, with the float32 rounding of
 * its three ops (decay itself becomes a float32 scalar there).
 */
export function movingAverage(orig: Float32Array, value: Float32Array, momentum: number): Float32Array {
  const decay = Math.fround(1 - momentum);
  const out = new Float32Array(orig.length);
  for (let k = 0; k < orig.length; k++) {
    out[k] = orig[k] - Math.fround(Math.fround(orig[k] - value[k]) * decay);
  }
  return out;
}

/**
 * y, mean, variance and, given movingMean / movingVariance and a momentum, their updated values:
 * the layer's two moving-average updates are 6 ops and a scalar tensor each in tfjs (~300 kernel
 * calls a MobileNetV2 step, all recorded on the gradient tape), here two small loops.
 */
function batchNormTrain(args: KernelArgs): TensorInfo[] {
  const x = need(f32Input(args, 'x'));
  const gamma = need(f32Input(args, 'gamma')).values;
  const beta = need(f32Input(args, 'beta')).values;
  const { epsilon, momentum, relu6Max } = attrsOf(args);
  const cp = channelPasses();
  const c = gamma.length;
  // relu6(y) from the apply pass, for a ReLU6 that follows (bn-relu6-patch.ts): SIMD passes only.
  if (typeof relu6Max === 'number' && cp != null && c % 4 === 0) {
    const r = bnForwardWasm(cp, x.values, gamma, beta, epsilon as number, relu6Max);
    return [
      ...withMoving(args, makeF32(args.backend, x.shape, r.y), r.mean, r.variance, momentum),
      makeF32(args.backend, x.shape, r.act as Float32Array),
    ];
  }
  const { y, mean, variance } = bnForwardValues(x.values, gamma, beta, epsilon as number, cp);
  return withMoving(args, makeF32(args.backend, x.shape, y), mean, variance, momentum);
}

/** [y, mean, variance] and, given the moving statistics and a momentum, their updated values. */
function withMoving(
  args: KernelArgs,
  yInfo: TensorInfo,
  mean: Float32Array,
  variance: Float32Array,
  momentum: unknown,
): TensorInfo[] {
  const c = mean.length;
  const out = [yInfo, makeF32(args.backend, [c], mean), makeF32(args.backend, [c], variance)];
  const movingMean = f32Input(args, 'movingMean');
  const movingVariance = f32Input(args, 'movingVariance');
  if (movingMean != null && movingVariance != null && typeof momentum === 'number') {
    out.push(
      makeF32(args.backend, [c], movingAverage(movingMean.values, mean, momentum)),
      makeF32(args.backend, [c], movingAverage(movingVariance.values, variance, momentum)),
    );
  }
  return out;
}

/**
 * With r = 1/sqrt(var + eps), xhat = (x - mean) r and N rows: dBeta = Σdy, dGamma = Σdy·xhat,
 * dx = gamma·r·(dy - dBeta/N - xhat·dGamma/N).
 */
export function bnGradValues(
  dy: Float32Array,
  xv: Float32Array,
  gamma: Float32Array,
  mean: Float32Array,
  variance: Float32Array,
  eps: number,
  cp: ChannelPasses | null,
): BnGrad {
  const c = gamma.length;
  if (cp != null && c % 4 === 0) return bnGradWasm(cp, dy, xv, gamma, mean, variance, eps);
  const rows = xv.length / c;
  const r = new Float64Array(c);
  for (let k = 0; k < c; k++) r[k] = 1 / Math.sqrt(Math.fround(variance[k] + eps));
  const sumDy = new Float64Array(c);
  const sumDyXhat = new Float64Array(c);
  for (let i = 0; i < xv.length; i += c) {
    for (let k = 0; k < c; k++) {
      const g = dy[i + k];
      sumDy[k] += g;
      sumDyXhat[k] += g * (xv[i + k] - mean[k]);
    }
  }
  const dGamma = new Float32Array(c);
  const dBeta = new Float32Array(c);
  const a = new Float64Array(c);
  const b = new Float64Array(c);
  const shift = new Float64Array(c);
  for (let k = 0; k < c; k++) {
    dBeta[k] = sumDy[k];
    dGamma[k] = sumDyXhat[k] * r[k];
    // dx = a*dy + b*(x - mean) + shift, the closed form above expanded per channel.
    a[k] = gamma[k] * r[k];
    b[k] = (-a[k] * r[k] * r[k] * sumDyXhat[k]) / rows;
    shift[k] = (-a[k] * sumDy[k]) / rows;
  }
  const dx = new Float32Array(xv.length);
  for (let i = 0; i < xv.length; i += c) {
    for (let k = 0; k < c; k++) dx[i + k] = a[k] * dy[i + k] + b[k] * (xv[i + k] - mean[k]) + shift[k];
  }
  return { dx, dGamma, dBeta };
}

function batchNormTrainGrad(args: KernelArgs): TensorInfo[] {
  const x = need(f32Input(args, 'x'));
  const gamma = need(f32Input(args, 'gamma')).values;
  const { dx, dGamma, dBeta } = bnGradValues(
    need(f32Input(args, 'dy')).values,
    x.values,
    gamma,
    need(f32Input(args, 'mean')).values,
    need(f32Input(args, 'variance')).values,
    attrsOf(args).epsilon as number,
    channelPasses(),
  );
  const c = gamma.length;
  return [
    makeF32(args.backend, x.shape, dx),
    makeF32(args.backend, [c], dGamma),
    makeF32(args.backend, [c], dBeta),
  ];
}

/** clip(relu(x), 0, max) with the stock expressions (-0 and NaN as stock). */
export function relu6Values(v: Float32Array, hi: number, cp: ChannelPasses | null): Float32Array {
  const out = cp != null ? relu6Wasm(cp, v, hi) : new Float32Array(v.length);
  for (let i = cp != null ? v.length & ~3 : 0; i < v.length; i++) {
    const e = Math.max(0, v[i]);
    // biome-ignore lint/complexity/useMathMinMax: the stock ClipByValue expression, which keeps -0
    out[i] = e > hi ? hi : e < 0 ? 0 : e;
  }
  return out;
}

/** The product of the stock ClipByValue and Relu gradients: dy where 0 < x and relu(x) <= max. */
export function relu6GradValues(
  d: Float32Array,
  x: Float32Array,
  hi: number,
  cp: ChannelPasses | null,
): Float32Array {
  const out = cp != null ? relu6GradWasm(cp, d, x, hi) : new Float32Array(d.length);
  for (let i = cp != null ? d.length & ~3 : 0; i < d.length; i++) {
    const e = x[i];
    const r = Math.max(0, e);
    const g = r >= 0 && r <= hi ? d[i] : 0;
    out[i] = g * (e > 0 ? 1 : Number.isNaN(e) ? Number.NaN : 0);
  }
  return out;
}

function relu6(args: KernelArgs): TensorInfo {
  const x = need(f32Input(args, 'x'));
  const hi = Math.fround(attrsOf(args).maxValue as number);
  return makeF32(args.backend, x.shape, relu6Values(x.values, hi, channelPasses()));
}

function relu6Grad(args: KernelArgs): TensorInfo {
  const dy = need(f32Input(args, 'dy'));
  const x = need(f32Input(args, 'x')).values;
  const hi = Math.fround(attrsOf(args).maxValue as number);
  return makeF32(args.backend, dy.shape, relu6GradValues(dy.values, x, hi, channelPasses()));
}

export const LAYER_KERNEL = {
  batchNorm: 'EdgeloopBatchNormTrain',
  batchNormGrad: 'EdgeloopBatchNormTrainGrad',
  relu6: 'EdgeloopRelu6',
  relu6Grad: 'EdgeloopRelu6Grad',
} as const;

export function layerKernelConfigs(): KernelConfig[] {
  return [
    cpuKernelConfig(LAYER_KERNEL.batchNorm, batchNormTrain),
    cpuKernelConfig(LAYER_KERNEL.batchNormGrad, batchNormTrainGrad),
    cpuKernelConfig(LAYER_KERNEL.relu6, relu6),
    cpuKernelConfig(LAYER_KERNEL.relu6Grad, relu6Grad),
  ];
}
