import type * as tf from '@tensorflow/tfjs';
import { batchNormParams, convertConv, foldBatchNorm } from './conv.ts';
import { UnsupportedLayerError } from './errors.ts';
import type { GraphBuilder } from './graph-builder.ts';
import { materialize, type Pads2d, rankOf, type Slot, tensor, type Value } from './values.ts';

/** What a converter sees: the layer, its input slots and their static NHWC/NC shapes. */
export type LayerInput = { layer: tf.layers.Layer; inputs: Slot[]; shapes: number[][] };

type Converter = (g: GraphBuilder, x: LayerInput) => Value;

const fail = (layer: tf.layers.Layer, detail: string): never => {
  throw new UnsupportedLayerError(layer.name, layer.getClassName(), detail);
};

function config<T>(layer: tf.layers.Layer): T {
  return layer.getConfig() as unknown as T;
}

/** Appends a Keras activation by its serialized name (Clip-13 takes min/max as inputs). */
export function activation(g: GraphBuilder, layer: tf.layers.Layer, v: Value, name: string): Value {
  if (name === 'linear') return v;
  const x = materialize(g, v);
  const rank = rankOf(v);
  const out = (op: string, inputs: string[], attrs?: Parameters<GraphBuilder['node']>[3]) =>
    tensor(g.node(op, inputs, layer.name, attrs), rank);
  switch (name) {
    case 'relu':
      return out('Relu', [x]);
    case 'relu6':
      return out('Clip', [x, g.scalar(0), g.scalar(6)]);
    case 'sigmoid':
      return out('Sigmoid', [x]);
    case 'tanh':
      return out('Tanh', [x]);
    case 'softmax':
      // Keras softmax is over the last (channel) axis; that is axis 1 of an NCHW value.
      return out('Softmax', [x], [{ name: 'axis', type: 'int', value: rank === 4 ? 1 : -1 }]);
    default:
      return fail(layer, `activation ${name}`);
  }
}

const channelAxisOk = (axis: number, rank: number) => axis === -1 || axis === rank - 1;

const converters: Record<string, Converter> = {
  Conv2D: (g, { layer, inputs, shapes }) => {
    const conv: Value = { kind: 'conv', conv: convertConv(g, layer, inputs[0], shapes[0]) };
    return activation(g, layer, conv, config<{ activation: string }>(layer).activation);
  },
  DepthwiseConv2D: (g, x) => converters.Conv2D(g, x),
  BatchNormalization: (g, { layer, inputs: [x], shapes }) => {
    const bn = batchNormParams(layer);
    const rank = shapes[0].length;
    if (!channelAxisOk(bn.axis, rank)) fail(layer, `axis ${bn.axis}`);
    if (x.value.kind === 'conv' && x.uses === 1)
      return { kind: 'conv', conv: foldBatchNorm(x.value.conv, bn) };
    // Standalone BN: per-channel Mul + Add, broadcast over NCHW ([C,1,1]) or NC ([C]).
    const dims = rank === 4 ? [bn.mul.length, 1, 1] : [bn.mul.length];
    const mul = g.node(
      'Mul',
      [materialize(g, x.value), g.floats(`${layer.name}/scale`, dims, bn.mul)],
      layer.name,
    );
    return tensor(g.node('Add', [mul, g.floats(`${layer.name}/bias`, dims, bn.add)], layer.name), rank);
  },
  ReLU: (g, { layer, inputs: [x] }) => {
    const { maxValue } = config<{ maxValue?: number | null }>(layer);
    if (maxValue == null) return activation(g, layer, x.value, 'relu');
    const out = g.node('Clip', [materialize(g, x.value), g.scalar(0), g.scalar(maxValue)], layer.name);
    return tensor(out, rankOf(x.value));
  },
  Activation: (g, { layer, inputs: [x] }) =>
    activation(g, layer, x.value, config<{ activation: string }>(layer).activation),
  Softmax: (g, { layer, inputs: [x], shapes }) => {
    const { axis } = config<{ axis: number }>(layer);
    if (!channelAxisOk(axis, shapes[0].length)) fail(layer, `softmax axis ${axis}`);
    return activation(g, layer, x.value, 'softmax');
  },
  ZeroPadding2D: (_g, { layer, inputs: [x] }) => {
    const cfg = config<{ padding: [[number, number], [number, number]]; dataFormat: string }>(layer);
    if (cfg.dataFormat !== 'channelsLast') fail(layer, `dataFormat ${cfg.dataFormat}`);
    const [[t, b], [l, r]] = cfg.padding;
    const pads: Pads2d = [t, l, b, r];
    return { kind: 'padded', inner: x, pads, layerName: layer.name };
  },
  Add: (g, { layer, inputs }) => {
    const names = inputs.map((s) => materialize(g, s.value));
    let acc = names[0];
    for (const n of names.slice(1)) acc = g.node('Add', [acc, n], layer.name);
    return tensor(acc, rankOf(inputs[0].value));
  },
  GlobalAveragePooling2D: (g, { layer, inputs: [x] }) => {
    const cfg = config<{ dataFormat: string; keepDims?: boolean }>(layer);
    if (cfg.dataFormat !== 'channelsLast' || cfg.keepDims) fail(layer, 'only channelsLast without keepDims');
    const pooled = g.node('GlobalAveragePool', [materialize(g, x.value)], layer.name);
    return tensor(g.node('Flatten', [pooled], layer.name, [{ name: 'axis', type: 'int', value: 1 }]), 2);
  },
  Flatten: (g, { layer, inputs: [x] }) => {
    let name = materialize(g, x.value);
    // Keras flattens NHWC order; our 4-D values are NCHW, so transpose back first.
    if (rankOf(x.value) === 4) {
      name = g.node('Transpose', [name], layer.name, [{ name: 'perm', type: 'ints', value: [0, 2, 3, 1] }]);
    }
    return tensor(g.node('Flatten', [name], layer.name, [{ name: 'axis', type: 'int', value: 1 }]), 2);
  },
  Dense: (g, { layer, inputs: [x], shapes }) => {
    if (shapes[0].length !== 2) fail(layer, `Dense on rank ${shapes[0].length} input`);
    const cfg = config<{ activation: string; useBias: boolean }>(layer);
    const [kernel, bias] = layer.getWeights();
    const [inDim, units] = kernel.shape as number[];
    // Gemm-13: Y = A * B + C with B = the Keras kernel [in, units] as is (transB = 0).
    const inputs = [
      materialize(g, x.value),
      g.floats(`${layer.name}/W`, [inDim, units], kernel.dataSync() as Float32Array),
    ];
    if (cfg.useBias) inputs.push(g.floats(`${layer.name}/B`, [units], bias.dataSync() as Float32Array));
    return activation(g, layer, tensor(g.node('Gemm', inputs, layer.name), 2), cfg.activation);
  },
};

/** Inference-time identities: their output is their input. */
const IDENTITY_LAYERS = new Set([
  'Dropout',
  'SpatialDropout1D',
  'SpatialDropout2D',
  'GaussianDropout',
  'GaussianNoise',
  'AlphaDropout',
]);

export function isIdentityLayer(layer: tf.layers.Layer): boolean {
  return IDENTITY_LAYERS.has(layer.getClassName());
}

export function convertLayer(g: GraphBuilder, x: LayerInput): Value {
  const convert = converters[x.layer.getClassName()];
  if (!convert) throw new UnsupportedLayerError(x.layer.name, x.layer.getClassName());
  return convert(g, x);
}
