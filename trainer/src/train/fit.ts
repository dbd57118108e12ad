/**
 * The epoch loop: Adam with a warmup + cosine learning rate, class-weighted cross-entropy or
 * class-balanced sampling, early stopping on validation loss with patience, the best weights kept.
 * It trains whatever model it is given (the whole network, or the tail after a frozen cut) on
 * inputs a FitData produces (images, or cached bottleneck features).
 */
import { createRng } from '@edgeloop/shared';
import type * as tfjs from '@tensorflow/tfjs';
import { seedDropout } from '../model/seeded-init.ts';
import { shuffled } from './batches.ts';
import { argmax } from './evaluate.ts';
import { type LrSchedule, learningRateAt } from './lr-schedule.ts';

type Tf = typeof tfjs;

export interface FitData {
  count: number;
  labels: number[];
  /** Per-item input shape of the model being trained. */
  shape: number[];
  /** Model inputs for `indices`; `epoch` lets training data pick an augmented variant. */
  inputs(indices: number[], epoch: number): Float32Array;
}

export interface EpochRecord {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss: number;
  valAccuracy: number;
  learningRate: number;
  imagesPerSec: number;
  seconds: number;
}

export interface FitState {
  /** Last finished epoch (0 before training). */
  epoch: number;
  history: EpochRecord[];
  bestEpoch: number;
  bestValLoss: number;
}

export interface FitProgress {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  loss: number;
  accuracy: number;
  imagesPerSec: number;
  etaSec: number;
}

export interface FitOptions {
  model: tfjs.LayersModel;
  train: FitData;
  validation: FitData;
  numClasses: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  warmupEpochs: number;
  /** ε of label smoothing (0 = one-hot targets). */
  labelSmoothing?: number;
  patience: number;
  seed: number;
  balance: 'weights' | 'sampling' | 'none';
  classWeights: number[];
  state: FitState;
  /** When resuming: the best weights so far (the model itself holds the last epoch's). */
  bestWeights?: tfjs.Tensor[];
  onBatch?: (p: FitProgress) => void;
  onEpoch?: (record: EpochRecord) => void;
  /** Called after each epoch with the state and whether these weights are the best so far. */
  onCheckpoint?: (state: FitState, isBest: boolean, optimizer: tfjs.Optimizer) => Promise<void>;
  /** When resuming: Adam's saved state (iterations and moment estimates), restored before step 1. */
  optimizerState?: { name: string; tensor: tfjs.Tensor }[];
}

/** Predicted probabilities for every item of `data` (inference mode). */
export function predictAll(tf: Tf, model: tfjs.LayersModel, data: FitData, numClasses: number): Float32Array {
  const out = new Float32Array(data.count * numClasses);
  for (let start = 0; start < data.count; start += 32) {
    const idx = Array.from({ length: Math.min(32, data.count - start) }, (_, i) => start + i);
    const probs = tf.tidy(
      () =>
        (
          model.predict(tf.tensor(data.inputs(idx, 0), [idx.length, ...data.shape])) as tfjs.Tensor
        ).dataSync() as Float32Array,
    );
    out.set(probs, start * numClasses);
  }
  return out;
}

export function meanCrossEntropy(probs: Float32Array, labels: number[], k: number): number {
  let total = 0;
  labels.forEach((l, i) => {
    total += -Math.log(Math.max(1e-7, probs[i * k + l]));
  });
  return labels.length ? total / labels.length : 0;
}

/** An epoch's order: a seeded shuffle, or with balanced sampling draws weighted by class. */
function epochOrder(o: FitOptions, epoch: number): number[] {
  const rng = createRng(o.seed * 7919 + epoch);
  if (o.balance !== 'sampling') return shuffled(o.train.count, rng);
  const w = o.train.labels.map((l) => o.classWeights[l]);
  const cum: number[] = [];
  let acc = 0;
  for (const v of w) {
    acc += v;
    cum.push(acc);
  }
  return Array.from({ length: o.train.count }, () => {
    const r = rng() * acc;
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid] < r) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  });
}

/** Trains until `epochs` or early stop; leaves the best weights in o.model. */
export async function fit(tf: Tf, o: FitOptions): Promise<FitState> {
  const k = o.numClasses;
  const weights = tf.tensor1d(o.balance === 'weights' ? o.classWeights : o.classWeights.map(() => 1));
  const loss = (yTrue: tfjs.Tensor, yPred: tfjs.Tensor) =>
    tf.tidy(() => {
      const clipped = tf.clipByValue(yPred, 1e-7, 1 - 1e-7);
      return tf.mean(tf.neg(tf.sum(tf.mul(tf.mul(yTrue, tf.log(clipped)), weights), -1)));
    });
  const optimizer = tf.train.adam(o.learningRate);
  o.model.compile({ optimizer, loss, metrics: ['accuracy'] });
  if (o.optimizerState) await optimizer.setWeights(o.optimizerState);
  const batchSize = Math.min(o.batchSize, o.train.count);
  const batches = Math.ceil(o.train.count / batchSize);
  const schedule: LrSchedule = {
    peak: o.learningRate,
    warmupSteps: Math.round(o.warmupEpochs * batches),
    totalSteps: o.epochs * batches,
    minFraction: 0.02,
  };
  const state: FitState = { ...o.state, history: [...o.state.history] };
  let best = o.bestWeights ?? [];
  const started = Date.now();
  let seen = 0;
  for (let epoch = state.epoch + 1; epoch <= o.epochs; epoch++) {
    if (state.bestEpoch > 0 && epoch - 1 - state.bestEpoch >= o.patience) break;
    const epochStart = Date.now();
    const order = epochOrder(o, epoch);
    let lossSum = 0;
    let accSum = 0;
    let lr = o.learningRate;
    for (let b = 0; b < batches; b++) {
      const step = (epoch - 1) * batches + b;
      lr = learningRateAt(schedule, step);
      // tfjs Adam reads its learning rate on every step; there is no public setter.
      (optimizer as unknown as { learningRate: number }).learningRate = lr;
      seedDropout(o.model, o.seed, step);
      const idx = order.slice(b * batchSize, (b + 1) * batchSize);
      // Label smoothing keeps the head from pushing logits apart without bound on a small dataset
      // (Szegedy et al. 2016); the calibration step afterwards fits the temperature it leaves.
      const eps = o.labelSmoothing ?? 0;
      const yBuf = new Float32Array(idx.length * k).fill(eps / k);
      idx.forEach((i, j) => {
        yBuf[j * k + o.train.labels[i]] += 1 - eps;
      });
      const x = tf.tensor(o.train.inputs(idx, epoch), [idx.length, ...o.train.shape]);
      const y = tf.tensor2d(yBuf, [idx.length, k]);
      const [l, a] = (await o.model.trainOnBatch(x, y)) as number[];
      tf.dispose([x, y]);
      lossSum += l;
      accSum += a;
      seen += idx.length;
      const ips = seen / Math.max((Date.now() - started) / 1000, 1e-3);
      const remaining = (o.epochs - epoch) * o.train.count + (batches - b - 1) * batchSize;
      o.onBatch?.({
        epoch,
        epochs: o.epochs,
        batch: b + 1,
        batches,
        loss: lossSum / (b + 1),
        accuracy: accSum / (b + 1),
        imagesPerSec: ips,
        etaSec: remaining / ips,
      });
    }
    const seconds = (Date.now() - epochStart) / 1000;
    const hasVal = o.validation.count > 0;
    const valProbs = hasVal ? predictAll(tf, o.model, o.validation, k) : new Float32Array();
    const valLoss = hasVal ? meanCrossEntropy(valProbs, o.validation.labels, k) : lossSum / batches;
    const valCorrect = o.validation.labels.filter((l, i) => argmax(valProbs, i * k, k) === l).length;
    const record: EpochRecord = {
      epoch,
      loss: lossSum / batches,
      accuracy: accSum / batches,
      valLoss,
      valAccuracy: hasVal ? valCorrect / o.validation.count : accSum / batches,
      learningRate: lr,
      imagesPerSec: o.train.count / Math.max(seconds, 1e-3),
      seconds,
    };
    state.history.push(record);
    state.epoch = epoch;
    o.onEpoch?.(record);
    const isBest = valLoss < state.bestValLoss;
    if (isBest) {
      tf.dispose(best);
      best = o.model.getWeights().map((w) => w.clone());
      state.bestEpoch = epoch;
      state.bestValLoss = valLoss;
    }
    await o.onCheckpoint?.(state, isBest, optimizer);
  }
  if (best.length) o.model.setWeights(best);
  tf.dispose([...best, weights]);
  return state;
}
