/**
 * The classifier each simulated round retrains on the frames labelled so far, over the frozen
 * base's pooled features.
 *
 * - `trainer`: what `edgeloop train` itself fits on a dataset this small — its default recipe for
 *   the label count, the trainer's own classifier head (dropout, dense softmax, started at zero as
 *   on a frozen pretrained base) and epoch loop (Adam, warmup + cosine, class weights, seeded). Only
 *   that recipe's `head` case (under 20 labels a class) is simulated: a run that would label more
 *   is refused. Not simulated: augmented views of each photo and a validation split for early
 *   stopping (the bench has no photos to spare; fit stops on training loss).
 * - `gd` (default): the benchmark's first head, softmax regression by full-batch gradient descent on
 *   L2-normalised features (300 steps, rate 2, L2 1e-3, zero init): every order in
 *   docs/benchmarks.md was measured on it, so it stays the default the figures compare with.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { classifierHead } from '../../trainer/src/model/classifier-head.ts';
import type { ModelSpec } from '../../trainer/src/model/mobilenet-spec.ts';
import { seedKernels, zeroClassifier } from '../../trainer/src/model/seeded-init.ts';
import { classWeights } from '../../trainer/src/train/batches.ts';
import { type FitData, fit as fitEpochs, predictAll } from '../../trainer/src/train/fit.ts';
import { defaultRecipe } from '../../trainer/src/train/recipe.ts';

export const HEADS = ['trainer', 'gd'] as const;
export type HeadKind = (typeof HEADS)[number];

/** A trained classifier: class probabilities for each feature vector. */
export interface Head {
  probs(xs: readonly Float32Array[]): Float64Array[];
  dispose(): void;
}

export type FitHead = (x: readonly Float32Array[], y: readonly number[], seed: number) => Promise<Head>;

/**
 * The fitter for `kind`. `maxLabels` is the most frames a run labels: the `trainer` head refuses
 * (RangeError) a run where the trainer's recipe would retrain blocks of the base, which a head over
 * pooled features cannot simulate.
 */
export function headFitter(kind: HeadKind, tf: typeof tfjs, classes: number, maxLabels: number): FitHead {
  if (kind === 'gd') return fitGd(classes);
  const freeze = recipeFor(maxLabels, classes).freeze;
  if (freeze !== 'head')
    throw new RangeError(
      `--head trainer simulates the trainer's classifier alone (under 20 labels a class); with ${maxLabels} labels over ${classes} classes it would retrain blocks (${JSON.stringify(freeze)})`,
    );
  return fitLikeTrainer(tf, classes);
}

function recipeFor(trainImages: number, classes: number) {
  return defaultRecipe({
    base: { inputSize: 224, architecture: 'mobilenet_v1', alpha: 0.25 },
    trainImages,
    classes,
  }).recipe;
}

/** Feature vectors as the rows of one model input (a 1×1 map each). */
function fitData(x: readonly Float32Array[], labels: number[], shape: number[]): FitData {
  const dim = shape[2];
  return {
    count: x.length,
    labels,
    shape,
    inputs: (idx) => {
      const buf = new Float32Array(idx.length * dim);
      idx.forEach((i, j) => {
        buf.set(x[i], j * dim);
      });
      return buf;
    },
  };
}

function fitLikeTrainer(tf: typeof tfjs, classes: number): FitHead {
  return async (x, y, seed) => {
    const recipe = recipeFor(x.length, classes);
    // The pooled vector as a 1×1 feature map: the head's global average pooling passes it as is.
    const shape = [1, 1, x[0].length];
    const input = tf.input({ shape });
    const spec = { numClasses: classes, dropout: recipe.dropout } as ModelSpec;
    const model = tf.model({ inputs: input, outputs: classifierHead(input, spec) });
    seedKernels(tf, model, seed);
    zeroClassifier(tf, model);
    const train = fitData(x, [...y], shape);
    const none = fitData([], [], shape);
    await fitEpochs(tf, {
      model,
      train,
      validation: none,
      numClasses: classes,
      epochs: recipe.epochs,
      batchSize: recipe.batchSize,
      learningRate: recipe.learningRate,
      warmupEpochs: recipe.warmupEpochs,
      labelSmoothing: recipe.labelSmoothing,
      patience: recipe.patience,
      seed,
      balance: 'weights',
      classWeights: classWeights([...y], classes),
      state: { epoch: 0, history: [], bestEpoch: 0, bestValLoss: Number.POSITIVE_INFINITY },
    });
    return {
      probs(xs) {
        const flat = predictAll(tf, model, fitData(xs, [], shape), classes);
        return xs.map((_, j) => Float64Array.from(flat.subarray(j * classes, (j + 1) * classes)));
      },
      dispose: () => model.dispose(),
    };
  };
}

function fitGd(classes: number): FitHead {
  return async (raw, y) => {
    const x = raw.map(unit);
    const dim = x[0].length;
    const epochs = 300;
    const lr = 2;
    const l2 = 1e-3;
    const w = new Float64Array(classes * dim);
    const b = new Float64Array(classes);
    const probs = new Float64Array(classes);
    for (let e = 0; e < epochs; e++) {
      const gw = new Float64Array(classes * dim);
      const gb = new Float64Array(classes);
      for (let n = 0; n < x.length; n++) {
        softmaxInto(w, b, x[n], probs);
        probs[y[n]] -= 1;
        for (let c = 0; c < classes; c++) {
          gb[c] += probs[c];
          const g = probs[c];
          const row = c * dim;
          for (let d = 0; d < dim; d++) gw[row + d] += g * x[n][d];
        }
      }
      for (let i = 0; i < w.length; i++) w[i] -= lr * (gw[i] / x.length + l2 * w[i]);
      for (let c = 0; c < classes; c++) b[c] -= (lr * gb[c]) / x.length;
    }
    return {
      probs: (xs) =>
        xs.map((v) => {
          const p = new Float64Array(classes);
          softmaxInto(w, b, unit(v), p);
          return p;
        }),
      dispose: () => {},
    };
  };
}

function unit(v: Float32Array): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum) || 1;
  return v.map((x) => x / norm);
}

function softmaxInto(w: Float64Array, b: Float64Array, v: Float32Array, out: Float64Array): void {
  const classes = b.length;
  const dim = v.length;
  let max = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < classes; c++) {
    let s = b[c];
    const row = c * dim;
    for (let d = 0; d < dim; d++) s += w[row + d] * v[d];
    out[c] = s;
    if (s > max) max = s;
  }
  let sum = 0;
  for (let c = 0; c < classes; c++) {
    out[c] = Math.exp(out[c] - max);
    sum += out[c];
  }
  for (let c = 0; c < classes; c++) out[c] /= sum;
}
