import type * as tf from '@tensorflow/tfjs';
import { UnsupportedLayerError } from './errors.ts';
import type { GraphBuilder } from './graph-builder.ts';
import { materialize, type Pads2d, type PendingConv, type Slot, type Value } from './values.ts';

type ConvConfig = {
  kernelSize: number[];
  strides: number[];
  padding: string;
  dataFormat: string;
  dilationRate: number | number[];
  useBias: boolean;
};

type BatchNormConfig = { axis: number; epsilon: number; center: boolean; scale: boolean };

function pair(v: number | number[]): [number, number] {
  return Array.isArray(v) ? [v[0], v[1] ?? v[0]] : [v, v];
}

/**
 * tfjs 'same' padding (tfjs-core conv_util computePaddingInfo): out = ceil(in / stride),
 * total = max(0, (out - 1) * stride + effectiveKernel - in), before = floor(total / 2) and the
 * odd pixel goes bottom/right.
 */
export function samePads(
  inH: number,
  inW: number,
  [kH, kW]: [number, number],
  [sH, sW]: [number, number],
  [dH, dW]: [number, number],
): Pads2d {
  const total = (size: number, k: number, s: number, d: number) =>
    Math.max(0, (Math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size);
  const th = total(inH, kH, sH, dH);
  const tw = total(inW, kW, sW, dW);
  return [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
}

/**
 * Conv2D / DepthwiseConv2D (linear activation) as a pending ONNX Conv. Folds a single-use
 * ZeroPadding2D into `pads` and a single-use scaled input into the weights (see foldInputScaling).
 */
export function convertConv(
  g: GraphBuilder,
  layer: tf.layers.Layer,
  input: Slot,
  inputShape: number[],
): PendingConv {
  const cls = layer.getClassName();
  const cfg = layer.getConfig() as unknown as ConvConfig;
  if (cfg.dataFormat !== 'channelsLast' || (cfg.padding !== 'same' && cfg.padding !== 'valid')) {
    throw new UnsupportedLayerError(layer.name, cls, `dataFormat ${cfg.dataFormat}, padding ${cfg.padding}`);
  }
  const [, inH, inW, cin] = inputShape;
  const [kernelTensor, biasTensor] = layer.getWeights();
  const kernel = kernelTensor.dataSync() as Float32Array;
  const [kH, kW, , k3] = kernelTensor.shape as number[];
  const kk = kH * kW;
  let weightDims: PendingConv['weightDims'];
  let group = 1;
  const weight = new Float32Array(kernel.length);
  if (cls === 'Conv2D') {
    // tfjs HWIO [kH, kW, in, out] -> ONNX OIHW.
    weightDims = [k3, cin, kH, kW];
    for (let i = 0; i < kk; i++)
      for (let c = 0; c < cin; c++)
        for (let o = 0; o < k3; o++) weight[(o * cin + c) * kk + i] = kernel[(i * cin + c) * k3 + o];
  } else {
    // Depthwise [kH, kW, in, multiplier]: output channel c * multiplier + m; ONNX Conv with group = in.
    weightDims = [cin * k3, 1, kH, kW];
    group = cin;
    for (let i = 0; i < kk; i++)
      for (let c = 0; c < cin; c++)
        for (let m = 0; m < k3; m++) weight[(c * k3 + m) * kk + i] = kernel[(i * cin + c) * k3 + m];
  }
  const bias = cfg.useBias ? Float32Array.from(biasTensor.dataSync()) : new Float32Array(weightDims[0]);
  const strides = pair(cfg.strides);
  const dilations = pair(cfg.dilationRate);
  const pads: Pads2d =
    cfg.padding === 'same' ? samePads(inH, inW, [kH, kW], strides, dilations) : [0, 0, 0, 0];
  const conv: PendingConv = {
    layerName: layer.name,
    input: '',
    weight,
    weightDims,
    bias,
    pads,
    strides,
    dilations,
    group,
  };

  let src = input;
  if (src.value.kind === 'padded' && src.uses === 1) {
    conv.pads = conv.pads.map((p, i) => p + (src.value as { pads: Pads2d }).pads[i]) as Pads2d;
    src = src.value.inner;
  }
  const v = src.value;
  if (v.kind === 'scaledInput' && src.uses === 1 && Number.isFinite(v.offset / v.scale) && v.scale !== 0) {
    foldInputScaling(g, conv, v);
  } else {
    conv.input = materialize(g, v);
  }
  return conv;
}

/**
 * Folds `x = pixel * scale + offset` into the conv: W' = W * scale, b' = b + offset * sum(W).
 * That is exact only where the kernel sees real pixels: a zero-padded border is 0 *after* scaling,
 * i.e. pixel = -offset / scale (127.5 for [-1, 1]). So the padding moves out of the conv into an
 * explicit ONNX Pad on the raw pixels whose constant is that pixel value; the conv itself is pad-free.
 */
function foldInputScaling(
  g: GraphBuilder,
  conv: PendingConv,
  v: Extract<Value, { kind: 'scaledInput' }>,
): void {
  const [t, l, b, r] = conv.pads;
  if (t || l || b || r) {
    const pads = g.int64s('input_pads', [8], [0, 0, t, l, 0, 0, b, r]);
    const fill = g.scalar(-v.offset / v.scale);
    conv.input = g.node('Pad', [v.raw, pads, fill], 'input_padded', [
      { name: 'mode', type: 'string', value: 'constant' },
    ]);
    conv.pads = [0, 0, 0, 0];
  } else {
    conv.input = v.raw;
  }
  const perOut = conv.weight.length / conv.weightDims[0];
  for (let o = 0; o < conv.weightDims[0]; o++) {
    let sum = 0;
    for (let j = o * perOut; j < (o + 1) * perOut; j++) {
      sum += conv.weight[j];
      conv.weight[j] *= v.scale;
    }
    conv.bias[o] += v.offset * sum;
  }
}

export type BatchNormParams = { mul: Float32Array; add: Float32Array; axis: number };

/** BatchNormalization as y = x * mul + add per channel: mul = gamma / sqrt(var + eps), add = beta - mean * mul. */
export function batchNormParams(layer: tf.layers.Layer): BatchNormParams {
  const cfg = layer.getConfig() as unknown as BatchNormConfig;
  const byName = new Map<string, Float32Array>();
  const values = layer.getWeights();
  layer.weights.forEach((w, i) => {
    byName.set(w.originalName.split('/').pop() as string, values[i].dataSync() as Float32Array);
  });
  const mean = byName.get('moving_mean');
  const variance = byName.get('moving_variance');
  if (!mean || !variance)
    throw new UnsupportedLayerError(layer.name, layer.getClassName(), 'missing moving stats');
  const gamma = byName.get('gamma');
  const beta = byName.get('beta');
  const mul = new Float32Array(mean.length);
  const add = new Float32Array(mean.length);
  for (let c = 0; c < mean.length; c++) {
    mul[c] = (cfg.scale && gamma ? gamma[c] : 1) / Math.sqrt(variance[c] + cfg.epsilon);
    add[c] = (cfg.center && beta ? beta[c] : 0) - mean[c] * mul[c];
  }
  return { mul, add, axis: cfg.axis };
}

/** Returns a copy of the conv with a following BatchNorm folded in: W * mul, b * mul + add. */
export function foldBatchNorm(conv: PendingConv, bn: BatchNormParams): PendingConv {
  const weight = Float32Array.from(conv.weight);
  const bias = new Float32Array(conv.bias.length);
  const perOut = weight.length / conv.weightDims[0];
  for (let o = 0; o < conv.weightDims[0]; o++) {
    for (let j = o * perOut; j < (o + 1) * perOut; j++) weight[j] *= bn.mul[o];
    bias[o] = conv.bias[o] * bn.mul[o] + bn.add[o];
  }
  return { ...conv, weight, bias };
}
