import * as tf from '@tensorflow/tfjs';
import { applyLayer, classifierHead, imageInput } from './classifier-head.ts';
import { type ModelSpec, validateModelSpec } from './mobilenet-spec.ts';

// Mirrors keras.applications.MobileNet (keras/src/applications/mobilenet.py): same layer names,
// order and padding, so Keras/tfjs pretrained backbone weights load by layer name.

/** [pointwise filters, depthwise stride] for the 13 depthwise-separable blocks (block_id 1..13). */
const V1_BLOCKS: readonly [number, number][] = [
  [64, 1],
  [128, 2],
  [128, 1],
  [256, 2],
  [256, 1],
  [512, 2],
  [512, 1],
  [512, 1],
  [512, 1],
  [512, 1],
  [512, 1],
  [1024, 2],
  [1024, 1],
];

// Keras defaults for BatchNormalization in MobileNet V1.
const BN = { epsilon: 1e-3, momentum: 0.99 } as const;

/** Keras uses int(filters * alpha); exact for alpha 0.25/0.5/0.75/1.0. */
function scaled(filters: number, alpha: number): number {
  return Math.max(1, Math.floor(filters * alpha));
}

function convBlock(x: tf.SymbolicTensor, filters: number): tf.SymbolicTensor {
  x = applyLayer(
    tf.layers.conv2d({ filters, kernelSize: 3, strides: 2, padding: 'same', useBias: false, name: 'conv1' }),
    x,
  );
  x = applyLayer(tf.layers.batchNormalization({ ...BN, name: 'conv1_bn' }), x);
  return applyLayer(tf.layers.reLU({ maxValue: 6, name: 'conv1_relu' }), x);
}

function depthwiseSeparableBlock(
  x: tf.SymbolicTensor,
  pointwiseFilters: number,
  stride: number,
  id: number,
): tf.SymbolicTensor {
  if (stride !== 1) {
    // Keras pads only bottom/right before a 'valid' stride-2 depthwise conv.
    x = applyLayer(
      tf.layers.zeroPadding2d({
        padding: [
          [0, 1],
          [0, 1],
        ],
        name: `conv_pad_${id}`,
      }),
      x,
    );
  }
  x = applyLayer(
    tf.layers.depthwiseConv2d({
      kernelSize: 3,
      strides: stride,
      padding: stride === 1 ? 'same' : 'valid',
      depthMultiplier: 1,
      useBias: false,
      name: `conv_dw_${id}`,
    }),
    x,
  );
  x = applyLayer(tf.layers.batchNormalization({ ...BN, name: `conv_dw_${id}_bn` }), x);
  x = applyLayer(tf.layers.reLU({ maxValue: 6, name: `conv_dw_${id}_relu` }), x);
  x = applyLayer(
    tf.layers.conv2d({
      filters: pointwiseFilters,
      kernelSize: 1,
      strides: 1,
      padding: 'same',
      useBias: false,
      name: `conv_pw_${id}`,
    }),
    x,
  );
  x = applyLayer(tf.layers.batchNormalization({ ...BN, name: `conv_pw_${id}_bn` }), x);
  return applyLayer(tf.layers.reLU({ maxValue: 6, name: `conv_pw_${id}_relu` }), x);
}

export function buildMobileNetV1(spec: ModelSpec): tf.LayersModel {
  validateModelSpec(spec);
  if (spec.architecture !== 'mobilenet_v1') {
    throw new Error(`buildMobileNetV1 called with architecture ${spec.architecture}`);
  }
  const input = imageInput(spec);
  let x = convBlock(input, scaled(32, spec.alpha));
  V1_BLOCKS.forEach(([filters, stride], i) => {
    x = depthwiseSeparableBlock(x, scaled(filters, spec.alpha), stride, i + 1);
  });
  const output = classifierHead(x, spec);
  return tf.model({ inputs: input, outputs: output, name: `mobilenet_${spec.alpha}_${spec.inputSize}` });
}
