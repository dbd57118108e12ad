import type * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  buildMobileNet,
  InvalidModelSpecError,
  type ModelSpec,
  makeDivisible,
} from '../../../trainer/src/model/index.ts';

const v1: ModelSpec = {
  architecture: 'mobilenet_v1',
  alpha: 0.25,
  inputSize: 32,
  numClasses: 4,
  dropout: 0.2,
};
const v2: ModelSpec = { ...v1, architecture: 'mobilenet_v2', alpha: 0.35 };

const names = (m: tf.LayersModel) => m.layers.map((l) => l.name);
const shapeOf = (m: tf.LayersModel, weight: string) =>
  m.weights.find((w) => w.originalName === weight)?.shape;

/** Parameters before global pooling, comparable to Keras `include_top=False`. */
function backboneParams(m: tf.LayersModel): number {
  const head = new Set(['global_average_pooling2d', 'dropout', 'hidden', 'predictions']);
  return m.layers.filter((l) => !head.has(l.name)).reduce((n, l) => n + l.countParams(), 0);
}

describe('buildMobileNet V1', () => {
  const model = buildMobileNet(v1);

  it('uses the keras.applications.MobileNet layer names in order', () => {
    const got = names(model);
    expect(got.slice(0, 15)).toEqual([
      'input_1',
      'conv1',
      'conv1_bn',
      'conv1_relu',
      'conv_dw_1',
      'conv_dw_1_bn',
      'conv_dw_1_relu',
      'conv_pw_1',
      'conv_pw_1_bn',
      'conv_pw_1_relu',
      'conv_pad_2',
      'conv_dw_2',
      'conv_dw_2_bn',
      'conv_dw_2_relu',
      'conv_pw_2',
    ]);
    expect(got.slice(-9)).toEqual([
      'conv_dw_13',
      'conv_dw_13_bn',
      'conv_dw_13_relu',
      'conv_pw_13',
      'conv_pw_13_bn',
      'conv_pw_13_relu',
      'global_average_pooling2d',
      'dropout',
      'predictions',
    ]);
    // Stride-2 depthwise blocks get Keras' ZeroPadding2D((0,1),(0,1)) + 'valid'.
    expect(got.filter((n) => n.startsWith('conv_pad_'))).toEqual([
      'conv_pad_2',
      'conv_pad_4',
      'conv_pad_6',
      'conv_pad_12',
    ]);
    expect(model.getLayer('conv_pad_2').getConfig()).toMatchObject({
      padding: [
        [0, 1],
        [0, 1],
      ],
    });
    expect(model.getLayer('conv_dw_2').getConfig()).toMatchObject({ padding: 'valid', strides: [2, 2] });
    expect(model.getLayer('conv1').getConfig()).toMatchObject({
      padding: 'same',
      strides: [2, 2],
      useBias: false,
    });
    expect(model.getLayer('conv1_bn').getConfig()).toMatchObject({ epsilon: 1e-3, momentum: 0.99 });
    expect(model.getLayer('conv1_relu').getConfig()).toMatchObject({ maxValue: 6 });
  });

  it('has the weight names and shapes of the published mobilenet_v1_0.25 (tfjs model.json)', () => {
    // Taken from shared/data/mobilenet_v1_0.25_224/model.json weightsManifest (218,544 backbone params).
    expect(shapeOf(model, 'conv1/kernel')).toEqual([3, 3, 3, 8]);
    expect(shapeOf(model, 'conv1_bn/moving_variance')).toEqual([8]);
    expect(shapeOf(model, 'conv_dw_1/depthwise_kernel')).toEqual([3, 3, 8, 1]);
    expect(shapeOf(model, 'conv_pw_1/kernel')).toEqual([1, 1, 8, 16]);
    expect(shapeOf(model, 'conv_dw_13/depthwise_kernel')).toEqual([3, 3, 256, 1]);
    expect(shapeOf(model, 'conv_pw_13/kernel')).toEqual([1, 1, 256, 256]);
    expect(backboneParams(model)).toBe(218_544);
  });

  it('matches the Keras MobileNet(alpha=1.0, include_top=False) parameter count', () => {
    expect(backboneParams(buildMobileNet({ ...v1, alpha: 1.0 }))).toBe(3_228_864);
  });
});

describe('buildMobileNet V2', () => {
  const model = buildMobileNet(v2);

  it('uses the keras.applications.MobileNetV2 layer names', () => {
    const got = names(model);
    expect(got.slice(0, 9)).toEqual([
      'input_1',
      'Conv1',
      'bn_Conv1',
      'Conv1_relu',
      'expanded_conv_depthwise',
      'expanded_conv_depthwise_BN',
      'expanded_conv_depthwise_relu',
      'expanded_conv_project',
      'expanded_conv_project_BN',
    ]);
    expect(got).toEqual(
      expect.arrayContaining([
        'block_1_expand',
        'block_1_expand_BN',
        'block_1_expand_relu',
        'block_1_pad',
        'block_1_depthwise',
        'block_1_depthwise_BN',
        'block_1_depthwise_relu',
        'block_1_project',
        'block_1_project_BN',
        'Conv_1',
        'Conv_1_bn',
        'out_relu',
        'predictions',
      ]),
    );
    expect(got.filter((n) => n.endsWith('_pad'))).toEqual([
      'block_1_pad',
      'block_3_pad',
      'block_6_pad',
      'block_13_pad',
    ]);
    expect(got.filter((n) => n.endsWith('_add'))).toEqual(
      [2, 4, 5, 7, 8, 9, 11, 12, 14, 15].map((i) => `block_${i}_add`),
    );
    expect(model.getLayer('block_1_expand_BN').getConfig()).toMatchObject({ epsilon: 1e-3, momentum: 0.999 });
  });

  it('rounds channels with make_divisible(…, 8) and keeps 1280 final channels', () => {
    expect(shapeOf(model, 'Conv1/kernel')).toEqual([3, 3, 3, 16]);
    expect(shapeOf(model, 'expanded_conv_project/kernel')).toEqual([1, 1, 16, 8]);
    expect(shapeOf(model, 'block_1_expand/kernel')).toEqual([1, 1, 8, 48]);
    expect(shapeOf(model, 'block_3_project/kernel')).toEqual([1, 1, 48, 16]);
    expect(shapeOf(model, 'block_16_project/kernel')).toEqual([1, 1, 336, 112]);
    expect(shapeOf(model, 'Conv_1/kernel')).toEqual([1, 1, 112, 1280]);
  });

  it('matches the Keras MobileNetV2(alpha=1.0, include_top=False) parameter count', () => {
    expect(backboneParams(buildMobileNet({ ...v2, alpha: 1.0 }))).toBe(2_257_984);
  });

  it('makeDivisible follows keras _make_divisible', () => {
    expect([
      makeDivisible(8),
      makeDivisible(11),
      makeDivisible(11.2),
      makeDivisible(112),
      makeDivisible(20),
    ]).toEqual([8, 16, 16, 112, 24]);
  });
});

describe('classifier head and spec validation', () => {
  it('ends in GlobalAveragePooling2D -> Dropout -> [Dense relu] -> Dense softmax "predictions"', () => {
    const model = buildMobileNet({ ...v2, numClasses: 7, hiddenUnits: 32 });
    expect(names(model).slice(-4)).toEqual(['global_average_pooling2d', 'dropout', 'hidden', 'predictions']);
    expect(model.getLayer('hidden').getConfig()).toMatchObject({ units: 32, activation: 'relu' });
    expect(model.getLayer('predictions').getConfig()).toMatchObject({ units: 7, activation: 'softmax' });
    expect(model.getLayer('dropout').getConfig()).toMatchObject({ rate: 0.2 });
    expect(model.inputs[0].shape).toEqual([null, 32, 32, 3]);
    expect(model.outputs[0].shape).toEqual([null, 7]);
  });

  it.each([
    [{ inputSize: 100 }, /inputSize 100/],
    [{ inputSize: 0 }, /inputSize 0/],
    [{ alpha: 0.3 }, /alpha 0.3/],
    [{ architecture: 'resnet' }, /architecture "resnet"/],
    [{ numClasses: 1 }, /numClasses/],
    [{ dropout: 1 }, /dropout/],
    [{ hiddenUnits: 0 }, /hiddenUnits/],
  ])('rejects %o', (patch, message) => {
    const spec = { ...v1, ...patch } as ModelSpec;
    expect(() => buildMobileNet(spec)).toThrow(InvalidModelSpecError);
    expect(() => buildMobileNet(spec)).toThrow(message);
  });
});
