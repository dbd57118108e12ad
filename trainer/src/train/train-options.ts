/**
 * What a training run is asked to do (TrainOptions) and what it reports while running
 * (TrainProgress). A leaf of train/: train.ts, finish.ts and fit-inputs.ts all use these types, so
 * they live here rather than in train.ts (which imports the other two).
 */
import type { Logger } from '@edgeloop/shared';
import type { ModelSpec } from '../model/mobilenet-spec.ts';
import type { FreezeSpec } from '../model/split-model.ts';
import type { Recipe } from './recipe.ts';

export interface TrainOptions {
  dataDir: string;
  outDir: string;
  // Recipe settings: each one left undefined takes the default recipe.ts picks from the base and
  // the dataset (printed at the start of the run and recorded in metrics.json's `recipe`).
  architecture?: ModelSpec['architecture'];
  alpha?: ModelSpec['alpha'];
  inputSize?: number;
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  dropout?: number;
  patience?: number;
  /** Label smoothing ε: targets become (1 − ε)·onehot + ε/k. */
  labelSmoothing?: number;
  seed: number;
  name: string;
  /** Extra Dense(relu) units between pooling and the classifier. */
  hiddenUnits?: number;
  /** tfjs layers model (folder, model.json path or http(s) URL) to take pretrained weights from. */
  base?: string;
  /** What trains (default from the recipe). */
  freeze?: FreezeSpec;
  /** Augment the training split (default true). */
  augment?: boolean;
  /** Augmented variants per image kept in the bottleneck cache (variant 0 is the plain image). */
  augmentVariants?: number;
  /** Class imbalance handling (default 'weights'). */
  balance?: 'weights' | 'sampling' | 'none';
  /** Linear warmup length in epochs. */
  warmupEpochs?: number;
  /** Bottleneck cache folder; null keeps features in memory only. Default: <outDir>/../.bottleneck-cache. */
  cacheDir?: string | null;
  /** Largest bottleneck cache kept in memory, bytes (default 3 GB); above it features are recomputed. */
  cacheBudgetBytes?: number;
  /** Decompression-bomb guard: images above this many pixels are skipped. */
  maxPixels?: number;
  /**
   * Folders of extra labelled images (class folders) that join the training split only; files
   * named by their control-plane sample id, as downloadLabelledSamples writes them.
   */
  extraTrain?: string[];
  /** A previous model folder to continue from (same labels): retraining starts from its weights. */
  initFrom?: string;
  logger: Logger;
  onProgress?: (p: TrainProgress) => void;
}

/** Options with every recipe setting decided (what train() runs with after resolveRecipe). */
export type ResolvedTrainOptions = TrainOptions & Omit<Recipe, 'freeze'> & { freeze: Recipe['freeze'] };

export interface TrainProgress {
  phase: 'recipe' | 'decode' | 'cache' | 'train' | 'evaluate' | 'export';
  epoch?: number;
  epochs?: number;
  batch?: number;
  batches?: number;
  loss?: number;
  accuracy?: number;
  valLoss?: number;
  valAccuracy?: number;
  imagesPerSec?: number;
  etaSec?: number;
  message?: string;
}
