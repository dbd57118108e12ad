/**
 * After training: evaluate the best weights (tfjs) on train/validation/test, export to ONNX, run the
 * exported model in onnxruntime on validation and test (what devices run, so its figures are the
 * reported ones), and write the output folder with metrics.json and the two charts.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '@edgeloop/shared';
import type * as tfjs from '@tensorflow/tfjs';
import type { DatasetSplits } from '../data/dataset.ts';
import {
  ECE_BINS,
  expectedCalibrationError,
  fitTemperature,
  negativeLogLikelihood,
  recommendThresholds,
  reliabilityBins,
} from '../evaluate/calibration.ts';
import { crossFitTemperature, eceDetail } from '../evaluate/calibration-uncertainty.ts';
import { createOnnxRunner } from '../inference/onnx-runner.ts';
import type { LoadBaseReport } from '../model/load-base.ts';
import { exportToOnnx } from '../onnx/export-onnx.ts';
import { confusionSvg, curvesSvg } from '../output/charts.ts';
import { saveCheckpoint } from '../output/checkpoint.ts';
import { type TrainMetrics, writeModelDir } from '../output/model-dir.ts';
import { reliabilitySvg, reliabilityTitles } from '../output/reliability-chart.ts';
import { classCounts, type Normalization, onnxScaling } from './batches.ts';
import type { DecodedSplit } from './decode-splits.ts';
import { agreement, argmax, evaluatePredictions } from './evaluate.ts';
import { type FitData, type FitState, predictAll } from './fit.ts';
import type { ResolvedTrainOptions, TrainProgress } from './train-options.ts';

type Tf = typeof tfjs;

export interface FinishInput {
  options: ResolvedTrainOptions;
  description: string;
  started: number;
  trainSeconds: number;
  model: tfjs.LayersModel;
  /** The model that consumes `data` (the full model, or the tail after the frozen cut). */
  trainable: tfjs.LayersModel;
  labels: string[];
  dataset: DatasetSplits;
  sets: { train: DecodedSplit; validation: DecodedSplit; test: DecodedSplit };
  data: { train: FitData; validation: FitData; test: FitData };
  state: FitState;
  norm: Normalization;
  weights: number[];
  baseReport: LoadBaseReport | null;
  freeze: string;
  augment: { enabled: boolean; variants: number | null };
  recipe: TrainMetrics['recipe'];
  cacheReport: TrainMetrics['bottleneckCache'];
  progress: (p: TrainProgress) => void;
}

const byLabel = (labels: string[], values: number[]) =>
  Object.fromEntries(labels.map((l, i) => [l, values[i]]));

export async function finishTraining(tf: Tf, f: FinishInput): Promise<TrainMetrics> {
  const { labels, options, sets } = f;
  const k = labels.length;
  const predictions = (data: FitData) => {
    const probs = predictAll(tf, f.trainable, data, k);
    return { probs, pred: data.labels.map((_, i) => argmax(probs, i * k, k)) };
  };
  const trainEval = evaluatePredictions(predictions(f.data.train).pred, f.data.train.labels, labels);
  // With no validation images, the training split stands in (as in earlier versions).
  const valSet = sets.validation.images.length ? sets.validation : sets.train;
  const valData = sets.validation.images.length ? f.data.validation : f.data.train;
  const raw = predictions(valData);
  const tfValEval = evaluatePredictions(raw.pred, valData.labels, labels);

  // Temperature scaling, folded into the classifier so both exported models (fp32, and the int8
  // one quantized from it) output calibrated probabilities with no extra operator on devices.
  const temperature = fitTemperature(raw.probs, valData.labels, k);
  foldTemperature(tf, f.model, temperature);
  if (f.trainable !== f.model) foldTemperature(tf, f.trainable, temperature);
  const tfVal = predictions(valData);

  f.progress({ phase: 'export', message: 'exporting to ONNX and checking it in onnxruntime' });
  const onnx = exportToOnnx(f.model, {
    inputScaling: onnxScaling(f.norm),
    metadata: { labels: JSON.stringify(labels), inputSize: String(options.inputSize), name: options.name },
  });
  const runner = await createOnnxRunner(onnx);
  const onnxVal = await runner.run(valSet.images, options.inputSize);
  const onnxTest = sets.test.images.length ? await runner.run(sets.test.images, options.inputSize) : null;
  await runner.release();
  let maxAbsDiff = 0;
  for (let i = 0; i < onnxVal.length; i++)
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(onnxVal[i] - tfVal.probs[i]));
  const onnxValPred = valSet.labels.map((_, i) => argmax(onnxVal, i * k, k));
  const onnxValEval = evaluatePredictions(onnxValPred, valSet.labels, labels);
  const before = {
    bins: reliabilityBins(raw.probs, valData.labels, k),
    ece: expectedCalibrationError(raw.probs, valData.labels, k),
  };
  const after = {
    bins: reliabilityBins(onnxVal, valSet.labels, k),
    ece: expectedCalibrationError(onnxVal, valSet.labels, k),
    temperature,
  };
  // The same figure when no frame is calibrated by a fit that saw it, and how noisy it is.
  const crossFit = crossFitTemperature(raw.probs, valData.labels, k, { seed: options.seed });
  const afterDetail = {
    ...eceDetail(onnxVal, valSet.labels, k),
    crossFit: expectedCalibrationError(crossFit.probs, valData.labels, k),
  };
  const thresholds = recommendThresholds(onnxVal, labels);
  const calibration: TrainMetrics['calibration'] = {
    temperature,
    fittedOn: sets.validation.images.length ? 'validation' : 'train',
    images: valSet.labels.length,
    bins: ECE_BINS,
    eceBefore: before.ece,
    eceAfter: after.ece,
    eceAfterDetail: afterDetail,
    nllBefore: negativeLogLikelihood(raw.probs, valData.labels, k),
    nllAfter: negativeLogLikelihood(onnxVal, valSet.labels, k),
    ...thresholds,
  };
  f.progress({
    phase: 'export',
    message: `calibration: T ${temperature.toFixed(3)}, ECE ${before.ece.toFixed(4)} -> ${after.ece.toFixed(4)}; recommended lowConfidenceThreshold ${thresholds.lowConfidenceThreshold} (${thresholds.targetCaptureRate * 100}% of validation frames below)`,
  });
  const testEval = onnxTest
    ? evaluatePredictions(
        sets.test.labels.map((_, i) => argmax(onnxTest, i * k, k)),
        sets.test.labels,
        labels,
      )
    : null;

  // Only samples that were decoded and trained on count as used (not duplicates, not skipped ones).
  const fieldSampleIds = sets.train.items.flatMap((i) => (i.sampleId ? [i.sampleId] : []));
  const history = f.state.history;
  const trainSeconds = f.trainSeconds;
  const imagesTrained = history.reduce((a) => a + sets.train.images.length, 0);
  const metrics: TrainMetrics = {
    name: options.name,
    parent: options.initFrom ?? null,
    labels,
    architecture: {
      family: options.architecture,
      alpha: options.alpha,
      inputSize: options.inputSize,
      hiddenUnits: options.hiddenUnits ?? null,
    },
    backend: f.description,
    trainImages: sets.train.images.length,
    valImages: sets.validation.images.length,
    testImages: sets.test.images.length,
    fieldSamplesUsed: fieldSampleIds.length,
    sampleIds: fieldSampleIds,
    epochsRun: f.state.epoch,
    bestEpoch: f.state.bestEpoch,
    history,
    trainAccuracy: trainEval.accuracy,
    valAccuracy: tfValEval.accuracy,
    testAccuracy: testEval?.accuracy ?? null,
    onnxValAccuracy: onnxValEval.accuracy,
    onnxAgreement: agreement(tfVal.pred, onnxValPred),
    onnxMaxAbsDiff: maxAbsDiff,
    perClass: onnxValEval.perClass,
    confusion: onnxValEval.confusion,
    macroF1: onnxValEval.macroF1,
    test: testEval
      ? {
          accuracy: testEval.accuracy,
          perClass: testEval.perClass,
          confusion: testEval.confusion,
          macroF1: testEval.macroF1,
        }
      : null,
    classCounts: {
      train: byLabel(labels, classCounts(sets.train.labels, k)),
      validation: byLabel(labels, classCounts(sets.validation.labels, k)),
      test: byLabel(labels, classCounts(sets.test.labels, k)),
    },
    balance: options.balance ?? 'weights',
    classWeights: byLabel(labels, f.weights),
    normalization: { mean: [...f.norm.mean], std: [...f.norm.std] },
    base: f.baseReport,
    freeze: f.freeze,
    augmentation: f.augment,
    recipe: f.recipe,
    calibration,
    bottleneckCache: f.cacheReport,
    skipped: f.dataset.skipped,
    duplicates: f.dataset.duplicates,
    duplicateFiles: f.dataset.duplicateFiles,
    trainSeconds,
    imagesPerSec: imagesTrained / Math.max(trainSeconds, 1e-3),
    totalSeconds: (Date.now() - f.started) / 1000,
  };
  await writeModelDir(options.outDir, { onnx, metrics, size: options.inputSize });
  await writeFileAtomic(join(options.outDir, 'curves.svg'), curvesSvg(history));
  await writeFileAtomic(join(options.outDir, 'confusion.svg'), confusionSvg(labels, onnxValEval.confusion));
  await writeFileAtomic(
    join(options.outDir, 'reliability.svg'),
    reliabilitySvg([
      { title: reliabilityTitles.before(before.ece), bins: before.bins },
      { title: reliabilityTitles.after(temperature, after.ece), bins: after.bins },
    ]),
  );
  await saveCheckpoint(tf, f.model, options.outDir);
  f.model.dispose();
  if (f.trainable !== f.model) f.trainable.dispose();
  options.logger
    .child({ component: 'trainer' })
    .info(
      { outDir: options.outDir, valAccuracy: metrics.valAccuracy, onnxMaxAbsDiff: maxAbsDiff },
      'model written',
    );
  return metrics;
}

/** Divides the classifier's logits by `temperature`: its kernel and bias, as softmax(z / T) needs. */
export function foldTemperature(tf: Tf, model: tfjs.LayersModel, temperature: number): void {
  const layer = model.getLayer('predictions');
  const scaled = tf.tidy(() => layer.getWeights().map((w) => tf.div(w, temperature)));
  layer.setWeights(scaled);
  tf.dispose(scaled);
}
