/**
 * What a training run is asked to do (TrainOptions) and what it reports while running
 * (TrainProgress). A leaf of train/: train.ts, finish.ts and fit-inputs.ts all use these types, so
 * they live here rather than in train.ts (which imports the other two).
 */
import type { Logger } from '@edgeloop/shared';
import type { ModelSpec } from '../model/mobilenet-spec.ts';
import type { FreezeSpec } from '../model/split-model.ts';

export interface TrainOptions {
  dataDir: string;
  outDir: string;
  architecture: ModelSpec['architecture'];
  alpha: ModelSpec['alpha'];
  inputSize: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  dropout: number;
  patience: number;
  seed: number;
  name: string;
  /** Extra Dense(relu) units between pooling and the classifier. */
  hiddenUnits?: number;
  /** tfjs layers model (folder, model.json path or http(s) URL) to take pretrained weights from. */
  base?: string;
  /** What trains; default 'head' with a base, 'none' without. */
  freeze?: FreezeSpec;
  /** Augment the training split (default true). */
  augment?: boolean;
  /** Augmented variants per image kept in the bottleneck cache (default 4; variant 0 is the plain image). */
  augmentVariants?: number;
  /** Class imbalance handling (default 'weights'). */
  balance?: 'weights' | 'sampling' | 'none';
  /** Linear warmup length in epochs (default 1 with a base, else 0). */
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

export interface TrainProgress {
  phase: 'decode' | 'cache' | 'train' | 'evaluate' | 'export';
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
