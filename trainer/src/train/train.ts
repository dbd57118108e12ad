/**
 * `edgeloop train`: dataset → MobileNet in tfjs → best checkpoint by validation loss → ONNX export →
 * the exported model is run in onnxruntime on the validation set (it is what devices run) → an
 * output folder with model.onnx, labels.json, metrics.json and an unsigned manifest.json.
 */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@edgeloop/shared';
import { createRng, EdgeloopError } from '@edgeloop/shared';
import { type DatasetItem, readDataset } from '../data/dataset.ts';
import { decodeResized } from '../data/image-decoder.ts';
import { createOnnxRunner } from '../inference/onnx-runner.ts';
import { buildMobileNet, setBatchNormMomentum } from '../model/index.ts';
import type { ModelSpec } from '../model/mobilenet-spec.ts';
import { exportToOnnx } from '../onnx/export-onnx.ts';
import { loadLayersModelFromDisk, saveCheckpoint } from '../output/checkpoint.ts';
import { type TrainMetrics, writeModelDir } from '../output/model-dir.ts';
import { loadTf } from '../tf/load-tf.ts';
import { classWeights, type EncodedSet, fillBatch, shuffled } from './batches.ts';
import { agreement, argmax, type Evaluation, evaluatePredictions } from './evaluate.ts';

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
  phase: 'decode' | 'train' | 'evaluate' | 'export';
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

async function decodeAll(
  items: DatasetItem[],
  labels: string[],
  size: number,
  skipped: { path: string; reason: string }[],
): Promise<EncodedSet & { items: DatasetItem[] }> {
  const out: EncodedSet & { items: DatasetItem[] } = { size, images: [], labels: [], items: [] };
  for (const item of items) {
    try {
      const img = await decodeResized(item.path, { width: size, height: size });
      out.images.push(img.data);
      out.labels.push(labels.indexOf(item.label));
      out.items.push(item);
    } catch (err) {
      skipped.push({ path: item.path, reason: (err as Error).message });
    }
  }
  return out;
}

export async function train(options: TrainOptions): Promise<TrainMetrics> {
  const started = Date.now();
  const log = options.logger.child({ component: 'trainer' });
  const progress = options.onProgress ?? (() => {});
  const { tf, description } = await loadTf();
  log.info({ backend: description }, 'tensorflow backend');

  const dataset = await readDataset(options.dataDir, { seed: options.seed, extraTrain: options.extraTrain });
  const { labels } = dataset;
  const size = options.inputSize;
  progress({
    phase: 'decode',
    message: `decoding ${dataset.train.length + dataset.validation.length} images`,
  });
  const trainSet = await decodeAll(dataset.train, labels, size, dataset.skipped);
  const valSet = await decodeAll(dataset.validation, labels, size, dataset.skipped);
  if (trainSet.images.length === 0)
    throw new EdgeloopError('DATASET_INVALID', 'no decodable training images');

  const spec: ModelSpec = {
    architecture: options.architecture,
    alpha: options.alpha,
    inputSize: size,
    numClasses: labels.length,
    dropout: options.dropout,
    // Moving statistics must settle within the planned steps (see ModelSpec.batchNormMomentum).
    batchNormMomentum: Math.min(
      0.99,
      Math.max(0.8, 1 - 20 / (options.epochs * Math.ceil(trainSet.images.length / options.batchSize))),
    ),
  };
  let model: import('@tensorflow/tfjs').LayersModel;
  if (options.initFrom) {
    const parentLabels = JSON.parse(
      await readFile(join(options.initFrom, 'labels.json'), 'utf8'),
    ) as string[];
    if (parentLabels.join('\n') !== labels.join('\n')) {
      throw new EdgeloopError(
        'DATASET_INVALID',
        `--init-from ${options.initFrom} was trained on [${parentLabels.join(', ')}] but this dataset has [${labels.join(', ')}]`,
      );
    }
    model = await loadLayersModelFromDisk(tf, options.initFrom);
    setBatchNormMomentum(model, spec.batchNormMomentum!);
    log.info({ initFrom: options.initFrom }, 'continuing from parent model weights');
  } else {
    model = buildMobileNet(spec);
  }
  const weights = classWeights(trainSet.labels, labels.length);
  const weightTensor = tf.tensor1d(weights);
  // Class-weighted cross-entropy: rare classes count as much as common ones (imbalance handling).
  const loss = (yTrue: import('@tensorflow/tfjs').Tensor, yPred: import('@tensorflow/tfjs').Tensor) =>
    tf.tidy(() => {
      const clipped = tf.clipByValue(yPred, 1e-7, 1 - 1e-7);
      const perItem = tf.neg(tf.sum(tf.mul(tf.mul(yTrue, tf.log(clipped)), weightTensor), -1));
      return tf.mean(perItem);
    });
  model.compile({ optimizer: tf.train.adam(options.learningRate), loss, metrics: ['accuracy'] });

  const rng = createRng(options.seed);
  const batchSize = Math.min(options.batchSize, trainSet.images.length);
  const batches = Math.ceil(trainSet.images.length / batchSize);
  const pixels = size * size * 3;

  const predictAll = (set: EncodedSet): Float32Array => {
    const out = new Float32Array(set.images.length * labels.length);
    for (let start = 0; start < set.images.length; start += 32) {
      const idx = Array.from({ length: Math.min(32, set.images.length - start) }, (_, i) => start + i);
      const buf = new Float32Array(idx.length * pixels);
      fillBatch(set, idx, buf, null);
      const probs = tf.tidy(() =>
        (
          model.predict(tf.tensor4d(buf, [idx.length, size, size, 3])) as import('@tensorflow/tfjs').Tensor
        ).dataSync(),
      );
      out.set(probs as Float32Array, start * labels.length);
    }
    return out;
  };
  const validationLoss = (probs: Float32Array, set: EncodedSet): number => {
    let total = 0;
    set.labels.forEach((l, i) => {
      total += -Math.log(Math.max(1e-7, probs[i * labels.length + l]));
    });
    return set.labels.length ? total / set.labels.length : 0;
  };

  let best = {
    valLoss: Number.POSITIVE_INFINITY,
    epoch: 0,
    weights: [] as import('@tensorflow/tfjs').Tensor[],
  };
  let epochsRun = 0;
  const history: { epoch: number; loss: number; accuracy: number; valLoss: number; valAccuracy: number }[] =
    [];
  const trainStart = Date.now();
  let imagesSeen = 0;
  for (let epoch = 1; epoch <= options.epochs; epoch++) {
    const order = shuffled(trainSet.images.length, rng);
    let lossSum = 0;
    let accSum = 0;
    for (let b = 0; b < batches; b++) {
      const idx = order.slice(b * batchSize, (b + 1) * batchSize);
      const xBuf = new Float32Array(idx.length * pixels);
      fillBatch(trainSet, idx, xBuf, rng);
      const yBuf = new Float32Array(idx.length * labels.length);
      idx.forEach((i, k) => {
        yBuf[k * labels.length + trainSet.labels[i]] = 1;
      });
      const x = tf.tensor4d(xBuf, [idx.length, size, size, 3]);
      const y = tf.tensor2d(yBuf, [idx.length, labels.length]);
      const [l, a] = (await model.trainOnBatch(x, y)) as number[];
      tf.dispose([x, y]);
      lossSum += l;
      accSum += a;
      imagesSeen += idx.length;
      const elapsed = (Date.now() - trainStart) / 1000;
      const ips = imagesSeen / Math.max(elapsed, 1e-3);
      const remaining = (options.epochs - epoch) * trainSet.images.length + (batches - b - 1) * batchSize;
      progress({
        phase: 'train',
        epoch,
        epochs: options.epochs,
        batch: b + 1,
        batches,
        loss: lossSum / (b + 1),
        accuracy: accSum / (b + 1),
        imagesPerSec: ips,
        etaSec: remaining / ips,
      });
    }
    epochsRun = epoch;
    const valProbs = valSet.images.length ? predictAll(valSet) : new Float32Array();
    const valLoss = valSet.images.length ? validationLoss(valProbs, valSet) : lossSum / batches;
    const valPred = valSet.labels.map((_, i) => argmax(valProbs, i * labels.length, labels.length));
    const valAccuracy = valSet.labels.length
      ? evaluatePredictions(valPred, valSet.labels, labels).accuracy
      : accSum / batches;
    history.push({ epoch, loss: lossSum / batches, accuracy: accSum / batches, valLoss, valAccuracy });
    progress({
      phase: 'evaluate',
      epoch,
      epochs: options.epochs,
      loss: lossSum / batches,
      accuracy: accSum / batches,
      valLoss,
      valAccuracy,
    });
    if (valLoss < best.valLoss) {
      tf.dispose(best.weights);
      best = { valLoss, epoch, weights: model.getWeights().map((w) => w.clone()) };
    } else if (epoch - best.epoch >= options.patience) {
      log.info({ epoch, bestEpoch: best.epoch }, 'early stopping: validation loss stopped improving');
      break;
    }
  }
  model.setWeights(best.weights);
  const trainSeconds = (Date.now() - trainStart) / 1000;

  const evalSet = valSet.images.length ? valSet : trainSet;
  const tfProbs = predictAll(evalSet);
  const tfPred = evalSet.labels.map((_, i) => argmax(tfProbs, i * labels.length, labels.length));
  const tfEval: Evaluation = evaluatePredictions(tfPred, evalSet.labels, labels);

  progress({ phase: 'export', message: 'exporting to ONNX and checking it in onnxruntime' });
  const onnx = exportToOnnx(model, {
    inputScaling: { scale: 1 / 127.5, offset: -1 },
    metadata: { labels: JSON.stringify(labels), inputSize: String(size), name: options.name },
  });
  const runner = await createOnnxRunner(onnx);
  const onnxProbs = await runner.run(evalSet.images, size);
  await runner.release();
  let maxAbsDiff = 0;
  for (let i = 0; i < onnxProbs.length; i++)
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(onnxProbs[i] - tfProbs[i]));
  const onnxPred = evalSet.labels.map((_, i) => argmax(onnxProbs, i * labels.length, labels.length));
  const onnxEval = evaluatePredictions(onnxPred, evalSet.labels, labels);

  // Only samples that were decoded and trained on count as used (not duplicates, not skipped ones).
  const fieldSampleIds = trainSet.items.flatMap((i) => (i.sampleId ? [i.sampleId] : []));
  const metrics: TrainMetrics = {
    name: options.name,
    parent: options.initFrom ?? null,
    labels,
    architecture: { family: options.architecture, alpha: options.alpha, inputSize: size },
    backend: description,
    trainImages: trainSet.images.length,
    valImages: valSet.images.length,
    fieldSamplesUsed: fieldSampleIds.length,
    sampleIds: fieldSampleIds,
    epochsRun,
    bestEpoch: best.epoch,
    history,
    valAccuracy: tfEval.accuracy,
    onnxValAccuracy: onnxEval.accuracy,
    onnxAgreement: agreement(tfPred, onnxPred),
    onnxMaxAbsDiff: maxAbsDiff,
    perClass: onnxEval.perClass,
    confusion: onnxEval.confusion,
    classWeights: Object.fromEntries(labels.map((l, i) => [l, weights[i]])),
    skipped: dataset.skipped,
    duplicates: dataset.duplicates,
    trainSeconds,
    imagesPerSec: imagesSeen / Math.max(trainSeconds, 1e-3),
    totalSeconds: (Date.now() - started) / 1000,
  };
  tf.dispose([...best.weights, weightTensor]);
  await writeModelDir(options.outDir, { onnx, metrics, size });
  await saveCheckpoint(tf, model, options.outDir);
  model.dispose();
  log.info(
    { outDir: options.outDir, valAccuracy: metrics.valAccuracy, onnxMaxAbsDiff: maxAbsDiff },
    'model written',
  );
  return metrics;
}
