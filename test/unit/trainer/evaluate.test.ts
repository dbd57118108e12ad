import { describe, expect, it } from 'vitest';
import { agreement, evaluatePredictions } from '../../../trainer/src/train/evaluate.ts';

describe('evaluatePredictions', () => {
  it('gives accuracy, the confusion matrix and per-class precision, recall and F1', () => {
    // truth: a a a b b c ; predicted: a a b b c c
    const e = evaluatePredictions([0, 0, 1, 1, 2, 2], [0, 0, 0, 1, 1, 2], ['a', 'b', 'c']);
    expect(e.accuracy).toBeCloseTo(4 / 6);
    expect(e.count).toBe(6);
    expect(e.confusion).toEqual([
      [2, 1, 0],
      [0, 1, 1],
      [0, 0, 1],
    ]);
    const [a, b, c] = e.perClass;
    expect(a).toMatchObject({ label: 'a', support: 3, precision: 1 });
    expect(a.recall).toBeCloseTo(2 / 3);
    expect(a.f1).toBeCloseTo(0.8);
    expect(b.precision).toBeCloseTo(0.5);
    expect(b.recall).toBeCloseTo(0.5);
    expect(c.f1).toBeCloseTo(2 / 3);
    expect(e.macroF1).toBeCloseTo((0.8 + 0.5 + 2 / 3) / 3);
  });

  it('scores a class never predicted and never present as 0, not NaN', () => {
    const e = evaluatePredictions([0, 0], [0, 0], ['a', 'b']);
    expect(e.perClass[1]).toMatchObject({ precision: 0, recall: 0, f1: 0 });
  });

  it('measures top-1 agreement between two models', () => {
    expect(agreement([1, 2, 3, 4], [1, 2, 0, 4])).toBe(0.75);
  });
});
