/**
 * Determinism for `--seed`: tfjs initializers and dropout draw from Math.random unless given a seed,
 * so the trainer re-initialises every randomly initialised weight it did not load from a base with
 * a seeded Glorot-uniform (Keras' default for Conv2D, DepthwiseConv2D and Dense), and gives each
 * Dropout layer a fresh seed derived from (seed, step) before every training step.
 */
import { createRng } from '@edgeloop/shared';
import type * as tfjs from '@tensorflow/tfjs';

type Tf = typeof tfjs;

/** Fan-in and fan-out as Keras computes them for dense [in, out] and conv [kh, kw, in, out] kernels. */
function fans(shape: number[]): [number, number] {
  if (shape.length === 2) return [shape[0], shape[1]];
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return [shape[shape.length - 2] * receptive, shape[shape.length - 1] * receptive];
}

/** Seeded Glorot-uniform for every kernel whose name is not in `keep` (weights loaded from a base). */
export function seedKernels(
  tf: Tf,
  model: tfjs.LayersModel,
  seed: number,
  keep: Set<string> = new Set(),
): void {
  const rng = createRng(seed ^ 0x5eed);
  for (const layer of model.layers) {
    for (const w of layer.weights) {
      if (!/kernel$/.test(w.originalName) || keep.has(w.originalName)) continue;
      const [fanIn, fanOut] = fans(w.shape as number[]);
      const limit = Math.sqrt(6 / Math.max(1, fanIn + fanOut));
      const shape = w.shape as number[];
      const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
      for (let i = 0; i < values.length; i++) values[i] = (rng() * 2 - 1) * limit;
      tf.tidy(() => {
        w.write(tf.tensor(values, shape));
      });
    }
  }
}

/** Gives every Dropout layer of `model` a seed that depends only on (seed, step). */
export function seedDropout(model: tfjs.LayersModel, seed: number, step: number): void {
  let k = 0;
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'Dropout') continue;
    // tfjs keeps the seed it passes to tf.dropout in a public field without a setter.
    (layer as unknown as { seed: number }).seed = (Math.imul(seed + 1, 1_000_003) + step * 7919 + k++) >>> 0;
  }
}

/**
 * Zeroes the classifier's kernel (the `predictions` layer; its bias starts at zero already). On a
 * frozen pretrained base the classifier is a linear model over features that already tell the
 * classes apart: from zero its first steps follow each class's mean feature, while a random start
 * adds noise that a few photos a class cannot average out. Big Transfer (Kolesnikov et al. 2020)
 * starts its head at zero too; the few-photo figures are in docs/benchmarks.md.
 */
export function zeroClassifier(tf: Tf, model: tfjs.LayersModel): void {
  const layer = model.getLayer('predictions');
  const zeros = layer.getWeights().map((w) => tf.zerosLike(w));
  layer.setWeights(zeros);
  tf.dispose(zeros);
}
