import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  registerFastCpuKernels,
  restoreStockCpuKernels,
} from '../../../trainer/src/tf/fast-kernels/index.ts';
import {
  bnForwardValues,
  bnGradValues,
  movingAverage,
  relu6GradValues,
  relu6Values,
} from '../../../trainer/src/tf/fast-kernels/layer-kernels.ts';
import { channelPasses } from '../../../trainer/src/tf/fast-kernels/layer-wasm.ts';
import { collect } from '../../helpers/kernel-compare.ts';

// The fused batch-norm / ReLU6 layer paths, whose passes run in WebAssembly SIMD when the channel
// count allows, against stock tfjs-layers: forward, input and weight gradients.

afterAll(() => restoreStockCpuKernels(tf));

function rand(shape: number[], lo = -3, hi = 3, seed = 1): tf.Tensor {
  return tf.randomUniform(shape, lo, hi, 'float32', seed);
}

function expectClose(actual: Float32Array, expected: Float32Array, rtol: number): void {
  expect(actual.length).toBe(expected.length);
  const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / (Math.abs(expected[i]) + scale + 1e-30));
  }
  expect(worst).toBeLessThanOrEqual(rtol);
}

/** Output, input gradient and gamma/beta gradients of a training-mode layer call. */
function runLayer(layer: tf.layers.Layer, x: tf.Tensor, fast: boolean): Float32Array[] {
  if (fast) registerFastCpuKernels(tf);
  else restoreStockCpuKernels(tf);
  return tf.tidy(() => {
    const w = rand(x.shape, -1, 1, 9);
    const f = (xi: tf.Tensor) => tf.sum(tf.mul(layer.apply(xi, { training: true }) as tf.Tensor, w));
    const y = layer.apply(x, { training: true }) as tf.Tensor;
    const dx = tf.grad(f)(x);
    const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
    const grads = vars.length ? tf.variableGrads(() => f(x) as tf.Scalar, vars).grads : {};
    const names = Object.keys(grads).sort();
    return [y, dx, ...names.map((n) => grads[n])].map((t) => Float32Array.from(t.dataSync()));
  });
}

describe('fused batch normalisation (training)', () => {
  // 12 channels take the SIMD passes, 6 the JS loops; 3x11x13 = 429 rows span two sum blocks.
  for (const shape of [
    [3, 11, 13, 12],
    [2, 5, 7, 6],
    [4, 3, 16],
  ]) {
    it(`matches stock on ${shape.join('x')}`, () => {
      const c = shape[shape.length - 1];
      const layer = tf.layers.batchNormalization({
        gammaInitializer: tf.initializers.randomUniform({ minval: 0.5, maxval: 1.5, seed: 3 }),
        betaInitializer: tf.initializers.randomUniform({ minval: -1, maxval: 1, seed: 4 }),
      });
      layer.build([null, ...shape.slice(1)]);
      // A channel mean far from zero checks the two-pass variance.
      const x = tf.add(rand(shape), tf.linspace(-20, 20, c));
      const stock = runLayer(layer, x, false);
      const fast = runLayer(layer, x, true);
      expect(fast.length).toBe(4);
      for (const [i, a] of fast.entries()) expectClose(a, stock[i], 2e-5);
      x.dispose();
    });
  }

  it('updates the moving mean and variance as stock does', () => {
    const shape = [4, 9, 7, 8];
    const moving = (fast: boolean) => {
      const layer = tf.layers.batchNormalization({
        momentum: 0.9,
        movingMeanInitializer: tf.initializers.randomUniform({ minval: -1, maxval: 1, seed: 7 }),
        movingVarianceInitializer: tf.initializers.randomUniform({ minval: 0.5, maxval: 2, seed: 8 }),
      });
      layer.build([null, ...shape.slice(1)]);
      const x = tf.add(rand(shape), tf.linspace(-5, 5, shape[3]));
      runLayer(layer, x, fast);
      x.dispose();
      // Each runLayer call updates the statistics three times (apply, grad, variableGrads).
      const [mean, variance] = layer.getWeights().slice(2);
      return [Float32Array.from(mean.dataSync()), Float32Array.from(variance.dataSync())];
    };
    const stock = moving(false);
    const fast = moving(true);
    for (const [i, a] of fast.entries()) expectClose(a, stock[i], 1e-6);
  });

  it("rounds the moving-average update exactly as tfjs-layers' three ops do", () => {
    restoreStockCpuKernels(tf);
    const orig = rand([203], -4, 4, 11);
    const value = rand([203], -4, 4, 12);
    for (const momentum of [0.99, 0.999, 0.9, 0.5]) {
      const stock = tf.tidy(() => tf.sub(orig, tf.mul(tf.sub(orig, value), 1 - momentum)).dataSync());
      const ours = movingAverage(orig.dataSync() as Float32Array, value.dataSync() as Float32Array, momentum);
      expect(Array.from(ours)).toEqual(Array.from(stock));
    }
    tf.dispose([orig, value]);
  });

  it('gives the same values on the SIMD passes and the JS loops', () => {
    const cp = channelPasses();
    expect(cp).not.toBeNull();
    const c = 8;
    const x = rand([700, c], -2, 5).dataSync() as Float32Array;
    const dy = rand([700, c], -1, 1, 2).dataSync() as Float32Array;
    const gamma = rand([c], 0.5, 1.5, 5).dataSync() as Float32Array;
    const beta = rand([c], -1, 1, 6).dataSync() as Float32Array;
    const js = bnForwardValues(x, gamma, beta, 1e-3, null);
    const simd = bnForwardValues(x, gamma, beta, 1e-3, cp);
    for (const k of ['y', 'mean', 'variance'] as const) expectClose(simd[k], js[k], 1e-6);
    const gjs = bnGradValues(dy, x, gamma, js.mean, js.variance, 1e-3, null);
    const gsimd = bnGradValues(dy, x, gamma, js.mean, js.variance, 1e-3, cp);
    for (const k of ['dx', 'dGamma', 'dBeta'] as const) expectClose(gsimd[k], gjs[k], 1e-5);
  });
});

describe('fused ReLU6', () => {
  const special = [
    Number.NaN,
    -0,
    0,
    6,
    6.0001,
    -1e-30,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    3,
  ];

  it('matches stock bit for bit, including -0, NaN and infinities, on lengths not divisible by 4', () => {
    const layer = tf.layers.reLU({ maxValue: 6 });
    for (const n of [9, 31, 64]) {
      const values = Float32Array.from(
        { length: n },
        (_, i) => special[i % special.length] * (i % 2 ? 1 : 1.5),
      );
      const x = tf.tensor2d(values, [1, n]);
      const stock = runLayer(layer, x, false);
      const fast = runLayer(layer, x, true);
      for (let t = 0; t < 2; t++) {
        for (let i = 0; i < n; i++) expect(Object.is(fast[t][i], stock[t][i])).toBe(true);
      }
      x.dispose();
    }
  });

  it('gives the same bits on the SIMD pass and the JS loop, gradients with infinite dy too', () => {
    const cp = channelPasses();
    const x = Float32Array.from({ length: 23 }, (_, i) => special[i % special.length] - (i % 3));
    const dy = Float32Array.from({ length: 23 }, (_, i) => special[(i + 4) % special.length] - 0.5);
    const pairs = [
      [relu6Values(x, 6, cp), relu6Values(x, 6, null)],
      [relu6GradValues(dy, x, 6, cp), relu6GradValues(dy, x, 6, null)],
    ];
    for (const [a, b] of pairs) for (let i = 0; i < b.length; i++) expect(Object.is(a[i], b[i])).toBe(true);
  });
});

describe('ReLU6 after batch normalisation in a model (relu6 from the batch-norm pass)', () => {
  // 8 channels take the SIMD passes the fused activation needs.
  const shape = [3, 5, 7, 8];
  const x = tf.add(rand(shape), tf.linspace(-2, 4, 8));
  const w = rand(shape, -1, 1, 31);

  /** input -> BN -> ReLU6 -> output, and (second) the BN output read by an Add as well. */
  function models(): tf.LayersModel[] {
    const input = tf.input({ shape: shape.slice(1) });
    const bn = tf.layers
      .batchNormalization({
        gammaInitializer: tf.initializers.randomUniform({ minval: 0.5, maxval: 1.5, seed: 3 }),
        betaInitializer: tf.initializers.randomUniform({ minval: -1, maxval: 1, seed: 4 }),
      })
      .apply(input) as tf.SymbolicTensor;
    const relu = tf.layers.reLU({ maxValue: 6 }).apply(bn) as tf.SymbolicTensor;
    const sum = tf.layers.add().apply([relu, bn]) as tf.SymbolicTensor;
    return [
      tf.model({ inputs: input, outputs: relu }),
      tf.model({ inputs: input, outputs: [sum, relu, bn] }),
    ];
  }

  const run = (model: tf.LayersModel) => () => {
    const vars = model.trainableWeights.map((v) => v.read() as tf.Variable);
    const loss = () =>
      tf.sum(tf.mul([model.apply(x, { training: true })].flat()[0] as tf.Tensor, w)) as tf.Scalar;
    const { value, grads } = tf.variableGrads(loss, vars);
    const dx = tf.grad((xi: tf.Tensor) =>
      tf.sum(tf.mul([model.apply(xi, { training: true })].flat()[0] as tf.Tensor, w)),
    )(x);
    const outs = [model.apply(x, { training: true })].flat() as tf.Tensor[];
    return [
      value,
      dx,
      ...outs,
      ...Object.keys(grads)
        .sort()
        .map((n) => grads[n]),
    ];
  };

  it('gives stock outputs and gradients, with or without another reader of the batch-norm output', () => {
    for (const model of models()) {
      restoreStockCpuKernels(tf);
      const stock = collect(run(model));
      registerFastCpuKernels(tf);
      const before = tf.memory().numTensors;
      const fast = collect(run(model));
      // Nothing kept for a ReLU6 outlives the call: each activation went to its ReLU6.
      expect(tf.memory().numTensors).toBe(before);
      expect(fast.length).toBe(stock.length);
      for (const [i, a] of fast.entries()) expectClose(a, stock[i], 2e-5);
    }
  });

  it('gives relu6 of the batch-norm output bit for bit', () => {
    registerFastCpuKernels(tf);
    const [, model] = models();
    const [, relu, bn] = collect(() => model.apply(x, { training: true }) as tf.Tensor[]);
    restoreStockCpuKernels(tf);
    const expected = collect(() => tf.clipByValue(tf.relu(tf.tensor(bn)), 0, 6));
    for (let i = 0; i < relu.length; i++) expect(Object.is(relu[i], expected[0][i])).toBe(true);
  });
});
