import { createRng } from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import { buildMobileNet, type ModelSpec } from '../../../trainer/src/model/index.ts';
import { cutLayerName, parseFreeze, splitModel } from '../../../trainer/src/model/split-model.ts';
import { loadTf } from '../../../trainer/src/tf/load-tf.ts';
import { augmentImage, DEFAULT_AUGMENT } from '../../../trainer/src/train/augment.ts';
import { learningRateAt } from '../../../trainer/src/train/lr-schedule.ts';

const v1: ModelSpec = {
  architecture: 'mobilenet_v1',
  alpha: 0.25,
  inputSize: 32,
  numClasses: 3,
  dropout: 0.2,
};
const v2: ModelSpec = { ...v1, architecture: 'mobilenet_v2', alpha: 0.35 };

describe('--freeze', () => {
  it('parses head, last:N and none, and rejects anything else', () => {
    expect(parseFreeze('head')).toBe('head');
    expect(parseFreeze('none')).toBe('none');
    expect(parseFreeze('last:3')).toEqual({ lastBlocks: 3 });
    expect(() => parseFreeze('some')).toThrow(/head, last:N or none/);
  });

  it('cuts V1 after block 13 - N and V2 after its block output', () => {
    const m1 = buildMobileNet(v1);
    expect(cutLayerName(v1, m1, 'head')).toBe('conv_pw_13_relu');
    expect(cutLayerName(v1, m1, { lastBlocks: 2 })).toBe('conv_pw_11_relu');
    expect(cutLayerName(v1, m1, { lastBlocks: 13 })).toBe('conv1_relu');
    expect(cutLayerName(v1, m1, 'none')).toBeNull();
    expect(() => cutLayerName(v1, m1, { lastBlocks: 14 })).toThrow(/0 <= N <= 13/);
    const m2 = buildMobileNet(v2);
    expect(cutLayerName(v2, m2, 'head')).toBe('out_relu');
    expect(cutLayerName(v2, m2, { lastBlocks: 1 })).toBe('block_15_add');
    expect(cutLayerName(v2, m2, { lastBlocks: 4 })).toBe('block_12_add');
    expect(cutLayerName(v2, m2, { lastBlocks: 5 })).toBe('block_11_add');
    expect(cutLayerName(v2, m2, { lastBlocks: 7 })).toBe('block_9_add');
    expect(cutLayerName(v2, m2, { lastBlocks: 11 })).toBe('block_5_add');
    expect(cutLayerName(v2, m2, { lastBlocks: 14 })).toBe('block_2_add');
    expect(cutLayerName(v2, m2, { lastBlocks: 16 })).toBe('expanded_conv_project_BN');
  });

  it.each([
    ['V1 last:3', v1, { lastBlocks: 3 }],
    ['V2 last:4 (cut inside the residual chain)', v2, { lastBlocks: 4 }],
    ['V2 head', v2, 'head'],
  ] as const)('frozen part then tail computes what the whole model does: %s', async (_name, spec, freeze) => {
    const { tf } = await loadTf();
    const model = buildMobileNet({ ...spec, hiddenUnits: 8 });
    const cut = cutLayerName(spec, model, freeze);
    const { frozen, tail } = splitModel(tf, model, cut as string);
    const x = tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 3);
    const whole = (model.predict(x) as import('@tensorflow/tfjs').Tensor).dataSync();
    const twoStep = (
      tail.predict(
        frozen.predict(x) as import('@tensorflow/tfjs').Tensor,
      ) as import('@tensorflow/tfjs').Tensor
    ).dataSync();
    expect(Array.from(twoStep).map((v, i) => Math.abs(v - whole[i]))).toSatisfy(
      (d: number[]) => Math.max(...d) < 1e-5,
    );
    // The tail owns copies: the whole model keeps exactly one node per layer (ONNX export needs it).
    expect(model.layers.every((l) => l.inboundNodes.length === 1)).toBe(true);
    expect(tail.layers.filter((l) => l.weights.length).length).toBeGreaterThan(1);
  });
});

describe('learning-rate schedule and augmentation', () => {
  it('warms up linearly, then decays by cosine to the floor', () => {
    const s = { peak: 1, warmupSteps: 10, totalSteps: 110, minFraction: 0.02 };
    expect(learningRateAt(s, 0)).toBeCloseTo(0.1);
    expect(learningRateAt(s, 9)).toBeCloseTo(1);
    expect(learningRateAt(s, 60)).toBeCloseTo(0.51);
    expect(learningRateAt(s, 110)).toBeCloseTo(0.02);
  });

  it('augments the same way for the same seed and changes the image otherwise', () => {
    const img = new Uint8Array(16 * 16 * 3).map((_, i) => (i * 37) % 256);
    const a = augmentImage(img, 16, createRng(1));
    expect(augmentImage(img, 16, createRng(1))).toEqual(a);
    expect(augmentImage(img, 16, createRng(2))).not.toEqual(a);
    expect(a).not.toEqual(img);
    const none = {
      ...DEFAULT_AUGMENT,
      flip: false,
      rotationDeg: 0,
      zoom: 0,
      shear: 0,
      shift: 0,
      brightness: 0,
    };
    expect(augmentImage(img, 16, createRng(1), none)).toEqual(img);
  });
});
