/**
 * Confidence calibration: ECE, temperature scaling (fitted, and folded into a real tfjs classifier
 * so the exported graph needs no extra operator) and the thresholds handed to devices.
 */
import { describe, expect, it } from 'vitest';
import {
  applyTemperature,
  expectedCalibrationError,
  fitTemperature,
  recommendThresholds,
  reliabilityBins,
} from '../../../trainer/src/evaluate/calibration.ts';
import { loadTf } from '../../../trainer/src/tf/load-tf.ts';
import { foldTemperature } from '../../../trainer/src/train/finish.ts';
import { overconfident } from '../../helpers/miscalibrated.ts';

describe('temperature scaling', () => {
  it('finds the temperature that undoes over-confidence and brings ECE down', () => {
    const { probs, truth } = overconfident(4000, 5, 3, 1);
    const t = fitTemperature(probs, truth, 5);
    expect(t).toBeGreaterThan(2.6);
    expect(t).toBeLessThan(3.4);
    const before = expectedCalibrationError(probs, truth, 5);
    const after = expectedCalibrationError(applyTemperature(probs, 5, t), truth, 5);
    expect(before).toBeGreaterThan(0.1);
    expect(after).toBeLessThan(0.03);
  });

  it('never changes which class wins', () => {
    const { probs } = overconfident(200, 4, 2, 2);
    const scaled = applyTemperature(probs, 4, 2.5);
    for (let i = 0; i < 200; i++) {
      const row = (p: ArrayLike<number>) => [0, 1, 2, 3].map((c) => p[i * 4 + c]);
      const a = row(probs);
      const b = row(scaled);
      expect(b.indexOf(Math.max(...b))).toBe(a.indexOf(Math.max(...a)));
    }
  });

  it('folds T into the classifier: the model then outputs softmax(logits / T)', async () => {
    const { tf } = await loadTf();
    // The classifier's last layer as classifierHead builds it: Dense(softmax) named `predictions`.
    const model = tf.sequential({
      layers: [tf.layers.dense({ units: 3, activation: 'softmax', name: 'predictions', inputShape: [6] })],
    });
    // Large weights, as an over-confident trained head has.
    const head = model.getLayer('predictions');
    head.setWeights([tf.randomNormal([6, 3], 0, 4, 'float32', 7), tf.tensor1d([0.5, -1, 2])]);
    const x = tf.randomNormal([8, 6], 0, 1, 'float32', 3);
    const raw = (model.predict(x) as ReturnType<typeof tf.zeros>).dataSync() as Float32Array;
    foldTemperature(tf, model, 2.5);
    const folded = (model.predict(x) as ReturnType<typeof tf.zeros>).dataSync() as Float32Array;
    const expected = applyTemperature(raw, 3, 2.5);
    expect(Math.max(...expected.map((v, i) => Math.abs(v - folded[i])))).toBeLessThan(1e-4);
    expect(Math.max(...folded)).toBeLessThan(Math.max(...raw));
    model.dispose();
  });
});

describe('ECE and reliability bins', () => {
  it('is zero for a model whose confidence is its accuracy, and the gap otherwise', () => {
    // Ten frames at 0.8 confidence, eight right: calibrated.
    const probs = new Float32Array(20);
    const truth: number[] = [];
    for (let i = 0; i < 10; i++) {
      probs[i * 2] = 0.8;
      probs[i * 2 + 1] = 0.2;
      truth.push(i < 8 ? 0 : 1);
    }
    expect(expectedCalibrationError(probs, truth, 2)).toBeCloseTo(0, 6);
    // All wrong at 0.8 confidence: ECE 0.8.
    expect(expectedCalibrationError(probs, new Array(10).fill(1), 2)).toBeCloseTo(0.8, 6);
    const bins = reliabilityBins(probs, truth, 2);
    expect(bins).toHaveLength(15);
    expect(bins.filter((b) => b.count > 0)).toEqual([
      expect.objectContaining({ count: 10, confidence: expect.closeTo(0.8, 5), accuracy: 0.8 }),
    ]);
  });
});

describe('recommended thresholds', () => {
  it('puts the target share of frames below the overall and each class threshold', () => {
    const { probs } = overconfident(1000, 4, 1, 4);
    const labels = ['a', 'b', 'c', 'd'];
    const r = recommendThresholds(probs, labels, 0.1);
    const top = (i: number) => Math.max(...[0, 1, 2, 3].map((c) => probs[i * 4 + c]));
    const below = Array.from({ length: 1000 }, (_, i) => top(i)).filter(
      (p) => p < r.lowConfidenceThreshold,
    ).length;
    expect(below / 1000).toBeGreaterThan(0.08);
    expect(below / 1000).toBeLessThan(0.12);
    expect(Object.keys(r.classThresholds).sort()).toEqual(labels);
    for (const t of Object.values(r.classThresholds)) expect(t).toBeGreaterThan(0.25);
  });

  it('leaves out classes with too few predictions for a quantile', () => {
    const probs = new Float32Array([0.9, 0.1, 0.8, 0.2, 0.7, 0.3]);
    const r = recommendThresholds(probs, ['x', 'y'], 0.1, 3);
    expect(r.classThresholds).toEqual({ x: expect.any(Number) });
  });
});
