import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fastCpuKernelNames,
  registerFastCpuKernels,
  restoreStockCpuKernels,
} from '../../../trainer/src/tf/fast-kernels/index.ts';

// The fast BatchMatMul (one product, any transposes) against stock tfjs, and a dense layer's
// gradients through it.

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});
afterAll(() => restoreStockCpuKernels(tf));

function values(fast: boolean, fn: () => tf.Tensor[]): Float32Array[] {
  restoreStockCpuKernels(tf);
  if (fast) registerFastCpuKernels(tf);
  try {
    return tf.tidy(() => fn().map((t) => Float32Array.from(t.dataSync())));
  } finally {
    restoreStockCpuKernels(tf);
  }
}

function expectClose(actual: Float32Array[], expected: Float32Array[]): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, t) => {
    expect(actual[t].length).toBe(e.length);
    const scale = e.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    for (let i = 0; i < e.length; i++)
      expect(Math.abs(actual[t][i] - e[i])).toBeLessThanOrEqual(1e-5 * scale);
  });
}

const rand = (shape: number[], seed: number) => tf.randomUniform(shape, -1, 1, 'float32', seed);

describe('BatchMatMul kernel', () => {
  it('matches stock for every transpose, odd sizes, rank 3 with batch 1, and batch 2', () => {
    const run = () => {
      const out: tf.Tensor[] = [];
      for (const [ta, tb] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ] as const) {
        const a = rand(ta ? [13, 7] : [7, 13], 1);
        const b = rand(tb ? [5, 13] : [13, 5], 2);
        out.push(tf.matMul(a, b, ta, tb));
      }
      out.push(tf.matMul(rand([1, 1, 9], 3), rand([1, 9, 6], 4)));
      out.push(tf.matMul(rand([2, 3, 4], 5), rand([2, 4, 6], 6)));
      return out;
    };
    expect(fastCpuKernelNames()).toContain('BatchMatMul');
    expectClose(values(true, run), values(false, run));
  });

  it("gives a dense layer's gradients as stock does", () => {
    const layer = tf.layers.dense({
      units: 10,
      kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }),
    });
    layer.build([null, 37]);
    const x = rand([32, 37], 8);
    const r = rand([32, 10], 9);
    const run = () => {
      const f = (a: tf.Tensor) => tf.sum(tf.mul(layer.apply(a) as tf.Tensor, r));
      const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
      const { grads } = tf.variableGrads(() => f(x) as tf.Scalar, vars);
      return [
        tf.grad(f)(x),
        ...Object.keys(grads)
          .sort()
          .map((n) => grads[n]),
      ];
    };
    expectClose(values(true, run), values(false, run));
  });
});
