import * as tf from '@tensorflow/tfjs';
import { applyLayer, classifierHead, imageInput } from './classifier-head.ts';
import { type ModelSpec, validateModelSpec } from './mobilenet-spec.ts';

// Mirrors keras.applications.MobileNetV2 (keras/src/applications/mobilenet_v2.py): same layer
// names, order and padding, so Keras/tfjs pretrained backbone weights load by layer name.

/** [expansion, output filters, stride] for inverted residual blocks 0..16. */
const V2_BLOCKS: readonly [number, number, number][] = [
  [1, 16, 1],
  [6, 24, 2],
  [6, 24, 1],
  [6, 32, 2],
  [6, 32, 1],
  [6, 32, 1],
  [6, 64, 2],
  [6, 64, 1],
  [6, 64, 1],
  [6, 64, 1],
  [6, 96, 1],
  [6, 96, 1],
  [6, 96, 1],
  [6, 160, 2],
  [6, 160, 1],
  [6, 160, 1],
  [6, 320, 1],
];

// keras MobileNetV2 uses momentum 0.999 (V1 keeps the 0.99 default).
const BN = { epsilon: 1e-3, momentum: 0.999 } as const;

/** keras `_make_divisible`: round to the nearest multiple of divisor, never dropping below 90%. */
export function makeDivisible(v: number, divisor = 8, minValue = divisor): number {
  let newV = Math.max(minValue, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (newV < 0.9 * v) newV += divisor;
  return newV;
}

/** keras imagenet_utils.correct_pad for a 3x3 kernel: ((1 - adjust, 1), ...) with adjust = 1 - size % 2. */
function correctPad(x: tf.SymbolicTensor): [[number, number], [number, number]] {
  const h = x.shape[1] as number;
  const w = x.shape[2] as number;
  return [
    [h % 2, 1],
    [w % 2, 1],
  ];
}

function conv1x1(x: tf.SymbolicTensor, filters: number, name: string): tf.SymbolicTensor {
  return applyLayer(tf.layers.conv2d({ filters, kernelSize: 1, padding: 'same', useBias: false, name }), x);
}

function invertedResBlock(
  inputs: tf.SymbolicTensor,
  [expansion, filters, stride]: readonly [number, number, number],
  alpha: number,
  blockId: number,
): tf.SymbolicTensor {
  const inChannels = inputs.shape[3] as number;
  const pointwiseFilters = makeDivisible(Math.floor(filters * alpha), 8);
  let x = inputs;
  let prefix = `block_${blockId}_`;
  if (blockId) {
    x = conv1x1(x, expansion * inChannels, `${prefix}expand`);
    x = applyLayer(tf.layers.batchNormalization({ ...BN, name: `${prefix}expand_BN` }), x);
    x = applyLayer(tf.layers.reLU({ maxValue: 6, name: `${prefix}expand_relu` }), x);
  } else {
    prefix = 'expanded_conv_';
  }
  if (stride === 2) {
    x = applyLayer(tf.layers.zeroPadding2d({ padding: correctPad(x), name: `${prefix}pad` }), x);
  }
  x = applyLayer(
    tf.layers.depthwiseConv2d({
      kernelSize: 3,
      strides: stride,
      padding: stride === 1 ? 'same' : 'valid',
      useBias: false,
      name: `${prefix}depthwise`,
    }),
    x,
  );
  x = applyLayer(tf.layers.batchNormalization({ ...BN, name: `${prefix}depthwise_BN` }), x);
  x = applyLayer(tf.layers.reLU({ maxValue: 6, name: `${prefix}depthwise_relu` }), x);
  x = conv1x1(x, pointwiseFilters, `${prefix}project`);
  x = applyLayer(tf.layers.batchNormalization({ ...BN, name: `${prefix}project_BN` }), x);
  if (inChannels === pointwiseFilters && stride === 1) {
    return applyLayer(tf.layers.add({ name: `${prefix}add` }), [inputs, x]);
  }
  return x;
}

export function buildMobileNetV2(spec: ModelSpec): tf.LayersModel {
  validateModelSpec(spec);
  if (spec.architecture !== 'mobilenet_v2') {
    throw new Error(`buildMobileNetV2 called with architecture ${spec.architecture}`);
  }
  const { alpha } = spec;
  const input = imageInput(spec);
  let x = applyLayer(
    tf.layers.conv2d({
      filters: makeDivisible(32 * alpha, 8),
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      useBias: false,
      name: 'Conv1',
    }),
    input,
  );
  x = applyLayer(tf.layers.batchNormalization({ ...BN, name: 'bn_Conv1' }), x);
  x = applyLayer(tf.layers.reLU({ maxValue: 6, name: 'Conv1_relu' }), x);
  V2_BLOCKS.forEach((block, i) => {
    x = invertedResBlock(x, block, alpha, i);
  });
  // Keras keeps 1280 channels for alpha <= 1 (only widens for alpha > 1).
  const lastFilters = alpha > 1 ? makeDivisible(1280 * alpha, 8) : 1280;
  x = conv1x1(x, lastFilters, 'Conv_1');
  x = applyLayer(tf.layers.batchNormalization({ ...BN, name: 'Conv_1_bn' }), x);
  x = applyLayer(tf.layers.reLU({ maxValue: 6, name: 'out_relu' }), x);
  const output = classifierHead(x, spec);
  return tf.model({
    inputs: input,
    outputs: output,
    name: `mobilenetv2_${alpha.toFixed(2)}_${spec.inputSize}`,
  });
}
