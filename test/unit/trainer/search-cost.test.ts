/**
 * `--budget` estimates come from the first candidate's measured cost: fixed work, bottleneck
 * features (free when the cache already holds them) and epochs.
 */
import { describe, expect, it } from 'vitest';
import { estimateSeconds, featureKey, type MeasuredRun } from '../../../trainer/src/train/search-cost.ts';

const recipe = {
  architecture: 'mobilenet_v1',
  alpha: 0.25,
  inputSize: 224,
  freeze: 'last:1',
  augmentVariants: 3,
  epochs: 8,
};
// 100 s in all: 24 s of features for 3,409 images, 8 epochs of 6 s, 28 s of decoding and export.
const first: MeasuredRun = {
  seconds: 100,
  featureKey: featureKey(recipe),
  featureSeconds: 24,
  featureMisses: 3409,
  epochSeconds: 6,
  epochsRun: 8,
  trainImages: 3068,
  variants: 3,
};

describe('search time estimates', () => {
  const cached = new Set([featureKey(recipe)]);

  it('charges a candidate that reuses the cached features only its epochs and the fixed work', () => {
    expect(estimateSeconds(first, { ...recipe, epochs: 14 }, cached)).toBeCloseTo(28 + 14 * 6, 6);
    expect(estimateSeconds(first, { ...recipe, dropout: 0.3 }, cached)).toBeCloseTo(28 + 8 * 6, 6);
  });

  it('charges new features in proportion to the variants, and dearer steps by their step cost', () => {
    const perImage = 24 / 3409;
    expect(estimateSeconds(first, { ...recipe, augmentVariants: 5 }, cached)).toBeCloseTo(
      28 + perImage * 3068 * (5 / 3) + 8 * 6,
      6,
    );
    const deeper = estimateSeconds(first, { ...recipe, freeze: 'last:2' }, cached, 1.8);
    expect(deeper).toBeCloseTo(28 + perImage * 3068 + 8 * 6 * 1.8, 6);
    // Once computed, the same features are free.
    const now = new Set([...cached, featureKey({ ...recipe, freeze: 'last:2' })]);
    expect(estimateSeconds(first, { ...recipe, freeze: 'last:2' }, now, 1.8)).toBeCloseTo(
      28 + 8 * 6 * 1.8,
      6,
    );
  });

  it('scales with the machine: the same plan on a run twice as slow is estimated twice as long', () => {
    const slow = { ...first, seconds: 200, featureSeconds: 48, epochSeconds: 12 };
    const plan = { ...recipe, epochs: 12 };
    expect(estimateSeconds(slow, plan, cached)).toBeCloseTo(2 * estimateSeconds(first, plan, cached), 6);
  });
});
