/**
 * Defaults that follow the base and the dataset (trainer/src/train/recipe.ts), and what the base
 * says about itself (its input size, family and width).
 */
import { describe, expect, it } from 'vitest';
import { baseShape } from '../../../trainer/src/model/load-base.ts';
import { defaultRecipe, resolveRecipe } from '../../../trainer/src/train/recipe.ts';
import { parseBudget } from '../../../trainer/src/train/search.ts';

const imagenetBase = { inputSize: 224, architecture: 'mobilenet_v1' as const, alpha: 0.25 };

describe('default recipe', () => {
  it('follows a pretrained base: its input size and width, two fine-tuned blocks for a few hundred images a class', () => {
    const { recipe, rule } = defaultRecipe({ base: imagenetBase, trainImages: 3068, classes: 10 });
    expect(rule).toBe('pretrained-base');
    expect(recipe).toMatchObject({
      inputSize: 224,
      alpha: 0.25,
      architecture: 'mobilenet_v1',
      freeze: { lastBlocks: 2 },
      augmentVariants: 3,
      epochs: 8,
      batchSize: 32,
      warmupEpochs: 1,
    });
  });

  it('retrains one block for dozens of images per class', () => {
    expect(defaultRecipe({ base: imagenetBase, trainImages: 1000, classes: 10 }).recipe.freeze).toEqual({
      lastBlocks: 1,
    });
  });

  it('trains only the head on a handful of images per class, with more variants and epochs', () => {
    const { recipe } = defaultRecipe({ base: imagenetBase, trainImages: 60, classes: 4 });
    expect(recipe.freeze).toBe('head');
    expect(recipe.augmentVariants).toBe(8);
    expect(recipe.batchSize).toBe(16);
    expect(recipe.epochs).toBe(40);
  });

  it('keeps small inputs and whole-network training without a base', () => {
    const { recipe, rule } = defaultRecipe({ base: null, trainImages: 3068, classes: 10 });
    expect(rule).toBe('from-scratch');
    expect(recipe).toMatchObject({ inputSize: 64, freeze: 'none', warmupEpochs: 0 });
  });

  it('keeps what the user gave and names what it defaulted', () => {
    const r = resolveRecipe(
      { epochs: 3, inputSize: 160 },
      { base: imagenetBase, trainImages: 3068, classes: 10 },
    );
    expect(r.recipe.epochs).toBe(3);
    expect(r.recipe.inputSize).toBe(160);
    expect(r.defaulted).not.toContain('epochs');
    expect(r.defaulted).toContain('freeze');
  });
});

describe('base shape', () => {
  const v1Tensors = new Map([
    ['conv1/kernel', { shape: [3, 3, 3, 8] }],
    ['conv_dw_1/depthwise_kernel', { shape: [3, 3, 8, 1] }],
  ]);
  it("reads a Keras base's input size from its topology and its width from conv1", () => {
    const topology = {
      model_config: { config: { layers: [{ config: { batch_input_shape: [null, 224, 224, 3] } }] } },
    };
    expect(baseShape(topology, v1Tensors)).toEqual({
      inputSize: 224,
      architecture: 'mobilenet_v1',
      alpha: 0.25,
    });
  });
  it('says it cannot tell rather than guess', () => {
    expect(baseShape(undefined, new Map())).toEqual({ inputSize: null, architecture: null, alpha: null });
  });
});

describe('--budget', () => {
  it('reads minutes, seconds and hours', () => {
    expect(parseBudget('10m')).toBe(600);
    expect(parseBudget('90s')).toBe(90);
    expect(parseBudget('1h')).toBe(3600);
    expect(() => parseBudget('ten minutes')).toThrow(/expected/);
  });
});
