/**
 * `edgeloop train`: dataset → MobileNet in tfjs (optionally from pretrained `--base` weights, with a
 * frozen part whose outputs are cached) → best checkpoint by validation loss → ONNX export → the
 * exported model is run in onnxruntime on the validation and test splits (it is what devices run) →
 * an output folder with model.onnx, labels.json, metrics.json, manifest.json and two SVG charts.
 */

import { join } from 'node:path';
import { EdgeloopError, MODEL_FOLDER, readModelFolder } from '@edgeloop/shared';
import type * as tfjs from '@tensorflow/tfjs';
import { readDataset } from '../data/dataset.ts';
import { DEFAULT_MAX_PIXELS } from '../data/image-decoder.ts';
import { buildMobileNet, setBatchNormMomentum } from '../model/index.ts';
import { applyBaseWeights, disposeBase, type LoadBaseReport, readBaseWeights } from '../model/load-base.ts';
import type { ModelSpec } from '../model/mobilenet-spec.ts';
import { seedKernels, zeroClassifier } from '../model/seeded-init.ts';
import { copyWeightsByLayerName, cutLayerName, type FreezeSpec, formatFreeze } from '../model/split-model.ts';
import { loadLayersModelFromDisk, saveCheckpoint } from '../output/checkpoint.ts';
import type { TrainMetrics } from '../output/model-dir.ts';
import { loadTf } from '../tf/load-tf.ts';
import { type AugmentConfig, DEFAULT_AUGMENT } from './augment.ts';
import {
  classWeights,
  MOBILENET_NORMALIZATION,
  measureNormalization,
  type Normalization,
} from './batches.ts';
import { decodeSplit } from './decode-splits.ts';
import { finishTraining } from './finish.ts';
import { type FitState, fit } from './fit.ts';
import { prepareFitInputs } from './fit-inputs.ts';
import { formatRecipe, recipeValues, resolveRecipe } from './recipe.ts';
import { readOptimizerState, readRunState, writeRunState } from './run-state.ts';
import type { ResolvedTrainOptions, TrainOptions } from './train-options.ts';

export type { TrainOptions, TrainProgress } from './train-options.ts';

/**
 * The folder `--init-from` continues: its JSON files validate (a corrupted metrics.json is reported
 * with its field, not skipped), it was trained on `labels`, and its pixel normalisation, if any.
 */
async function readParent(dir: string, labels: readonly string[]): Promise<Normalization | null> {
  const parent = await readModelFolder(dir);
  const parentLabels = parent[MODEL_FOLDER.manifest].labels;
  if (parentLabels.join('\n') !== labels.join('\n')) {
    throw new EdgeloopError(
      'DATASET_INVALID',
      `--init-from ${dir} was trained on [${parentLabels.join(', ')}] but this dataset has [${labels.join(', ')}]`,
    );
  }
  const n = parent[MODEL_FOLDER.metrics]?.normalization;
  return n ? { mean: n.mean as Normalization['mean'], std: n.std as Normalization['std'] } : null;
}

/** Continues the run whose output folder is `dir` from its last finished epoch. */
export async function resumeTraining(
  dir: string,
  overrides: Pick<TrainOptions, 'logger' | 'onProgress'> & { epochs?: number },
): Promise<TrainMetrics> {
  const saved = await readRunState(dir);
  const { tf } = await loadTf();
  const optimizerState = await readOptimizerState(tf, dir, saved);
  const options = {
    ...saved.options,
    outDir: dir,
    ...overrides,
    epochs: overrides.epochs ?? saved.options.epochs,
  };
  return train(options as TrainOptions, { state: saved.state, optimizerState });
}

export async function train(
  given: TrainOptions,
  resumeFrom?: { state: FitState; optimizerState?: { name: string; tensor: tfjs.Tensor }[] },
): Promise<TrainMetrics> {
  const resume = resumeFrom?.state;
  const started = Date.now();
  const log = given.logger.child({ component: 'trainer' });
  const progress = given.onProgress ?? (() => {});
  const { tf, description } = await loadTf();
  log.info({ backend: description }, 'tensorflow backend');

  // The base first: a wrong path or a dead URL should fail before minutes of decoding.
  const base = given.base !== undefined ? await readBaseWeights(tf, given.base) : null;
  const dataset = await readDataset(given.dataDir, { seed: given.seed, extraTrain: given.extraTrain });
  const { labels } = dataset;
  // Every setting the user left out follows the base and the dataset (recipe.ts); printed first.
  const resolved = resolveRecipe(given, {
    base: base ? base.shape : null,
    trainImages: dataset.train.length,
    classes: labels.length,
  });
  const options: ResolvedTrainOptions = { ...given, ...resolved.recipe };
  const recipeReport = {
    rule: resolved.rule,
    reason: resolved.reason,
    values: recipeValues(resolved.recipe),
    defaulted: resolved.defaulted,
  };
  progress({
    phase: 'recipe',
    message: `recipe (${resolved.rule}: ${resolved.reason}):\n${formatRecipe(resolved.recipe, resolved.defaulted)}`,
  });
  // Checked before minutes of decoding: a parent that does not fit fails fast.
  const parentNorm = options.initFrom ? await readParent(options.initFrom, labels) : null;
  const size = options.inputSize;
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const total = dataset.train.length + dataset.validation.length + dataset.test.length;
  progress({ phase: 'decode', message: `decoding ${total} images at ${size}x${size}` });
  const onDecoded = (n: number) => progress({ phase: 'decode', message: `  decoded ${n}` });
  const trainSet = await decodeSplit(dataset.train, labels, size, dataset.skipped, maxPixels, onDecoded);
  const valSet = await decodeSplit(dataset.validation, labels, size, dataset.skipped, maxPixels);
  const testSet = await decodeSplit(dataset.test, labels, size, dataset.skipped, maxPixels);
  if (trainSet.images.length === 0)
    throw new EdgeloopError('DATASET_INVALID', 'no decodable training images');

  const norm: Normalization =
    options.base !== undefined
      ? MOBILENET_NORMALIZATION
      : options.initFrom
        ? (parentNorm ?? MOBILENET_NORMALIZATION)
        : measureNormalization(trainSet.images);
  const freeze: FreezeSpec = options.freeze;
  const steps = options.epochs * Math.ceil(trainSet.images.length / options.batchSize);
  const spec: ModelSpec = {
    architecture: options.architecture,
    alpha: options.alpha,
    inputSize: size,
    numClasses: labels.length,
    dropout: options.dropout,
    hiddenUnits: options.hiddenUnits,
    // Moving statistics must settle within the planned steps (see ModelSpec.batchNormMomentum).
    batchNormMomentum: Math.min(0.99, Math.max(0.8, 1 - 20 / steps)),
  };
  const model = buildMobileNet(spec);
  seedKernels(tf, model, options.seed);
  // Only the classifier trains on a frozen pretrained base: a linear model on fixed features, which
  // starts from zero (seeded-init.ts). When blocks retrain too, the random start stays: there the
  // two starts measured a tie (docs/benchmarks.md), and from scratch nothing is known yet.
  if (options.base && freeze === 'head') zeroClassifier(tf, model);
  let baseReport: LoadBaseReport | null = null;
  if (base) {
    try {
      baseReport = applyBaseWeights(tf, model, base);
    } finally {
      disposeBase(base);
    }
    log.info({ base: options.base, loaded: baseReport.loaded }, 'pretrained weights loaded');
  }
  if (options.initFrom) {
    await copyFromCheckpoint(tf, join(options.initFrom, 'checkpoint', 'model.json'), model);
  }
  if (resume) await copyFromCheckpoint(tf, join(options.outDir, 'resume', 'checkpoint', 'model.json'), model);
  setBatchNormMomentum(model, spec.batchNormMomentum!);

  const augment: AugmentConfig | null = options.augment === false ? null : DEFAULT_AUGMENT;
  const cut = cutLayerName(spec, model, freeze);
  const weights = classWeights(trainSet.labels, labels.length);
  // Resumed or continued weights differ from any base: keep their features in memory only.
  const cacheDir =
    options.cacheDir === undefined
      ? options.base && !resume && !options.initFrom
        ? join(options.outDir, '..', '.bottleneck-cache')
        : null
      : options.cacheDir;
  const inputs = await prepareFitInputs(tf, {
    model,
    cut,
    sets: { train: trainSet, validation: valSet, test: testSet },
    norm,
    size,
    augment,
    seed: options.seed,
    variants: augment ? Math.max(1, options.augmentVariants) : 1,
    cacheBudgetBytes: options.cacheBudgetBytes ?? 3e9,
    cacheDir,
    cacheKey: {
      base: baseReport?.sha256 ?? null,
      initFrom: options.initFrom ?? null,
      architecture: spec.architecture,
      alpha: spec.alpha,
      size,
      cut,
      norm,
    },
    log,
    progress,
  });
  const trainable = inputs.trainable;
  const { trainData, trainEval, valData, testData, cacheReport, variants } = inputs;

  let bestWeights: tfjs.Tensor[] | undefined;
  if (resume && resume.bestEpoch > 0) {
    // fit() needs the best weights so far in the trainable model's own weight order.
    const current = trainable.getWeights().map((w) => w.clone());
    const best = buildMobileNet(spec);
    await copyFromCheckpoint(tf, join(options.outDir, 'checkpoint', 'model.json'), best);
    for (const layer of trainable.layers) {
      if (layer.weights.length) layer.setWeights(best.getLayer(layer.name).getWeights());
    }
    best.dispose();
    bestWeights = trainable.getWeights().map((w) => w.clone());
    trainable.setWeights(current);
    tf.dispose(current);
  }
  const saveFull = async (dir: string) => {
    if (trainable !== model) copyWeightsByLayerName(trainable, model);
    await saveCheckpoint(tf, model, dir);
  };
  const trainStart = Date.now();
  const state = await fit(tf, {
    model: trainable,
    train: trainData,
    validation: valData,
    numClasses: labels.length,
    epochs: options.epochs,
    batchSize: options.batchSize,
    learningRate: options.learningRate,
    warmupEpochs: options.warmupEpochs,
    labelSmoothing: options.labelSmoothing,
    patience: options.patience,
    seed: options.seed,
    balance: options.balance ?? 'weights',
    classWeights: weights,
    state: resume ?? { epoch: 0, history: [], bestEpoch: 0, bestValLoss: Number.POSITIVE_INFINITY },
    bestWeights,
    onBatch: (p) => progress({ phase: 'train', ...p }),
    onEpoch: (r) => progress({ phase: 'evaluate', epochs: options.epochs, ...r }),
    optimizerState: resumeFrom?.optimizerState,
    onCheckpoint: async (s, isBest, optimizer) => {
      if (isBest) await saveFull(options.outDir);
      await saveFull(join(options.outDir, 'resume'));
      const { logger: _l, onProgress: _p, ...plain } = options;
      await writeRunState(tf, options.outDir, { options: plain, state: s }, optimizer);
    },
  });
  if (trainable !== model) copyWeightsByLayerName(trainable, model);
  const trainSeconds =
    (Date.now() - trainStart) / 1000 + (resume ? resume.history.reduce((a, h) => a + h.seconds, 0) : 0);
  log.info({ epochs: state.epoch, bestEpoch: state.bestEpoch }, 'training finished');

  return finishTraining(tf, {
    options,
    description,
    started,
    trainSeconds,
    model,
    trainable,
    labels,
    dataset,
    sets: { train: trainSet, validation: valSet, test: testSet },
    data: { train: trainEval, validation: valData, test: testData },
    state,
    norm,
    weights,
    baseReport,
    freeze: formatFreeze(freeze),
    augment: { enabled: augment !== null, variants },
    recipe: recipeReport,
    cacheReport,
    progress,
  });
}

/** Copies a tfjs checkpoint's weights into `model` by layer name (architecture must match). */
async function copyFromCheckpoint(tf: typeof tfjs, jsonPath: string, model: tfjs.LayersModel): Promise<void> {
  const saved = await loadLayersModelFromDisk(tf, jsonPath);
  try {
    copyWeightsByLayerName(saved, model);
  } catch (err) {
    throw new EdgeloopError(
      'MODEL_INVALID',
      `${jsonPath} does not fit this architecture: ${(err as Error).message}`,
    );
  } finally {
    saved.dispose();
  }
}
