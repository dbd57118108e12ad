import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  registerFastCpuKernels,
  restoreStockCpuKernels,
} from '../../../trainer/src/tf/fast-kernels/index.ts';

// Adam's update as one kernel per variable must leave the weights and the optimizer state exactly
// where stock tfjs's 14-kernel chain leaves them.

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});
afterAll(() => restoreStockCpuKernels(tf));

/** Variables and Adam moments after three updates with fixed gradients (no other kernels involved). */
async function adamSteps(fast: boolean): Promise<Float32Array[]> {
  restoreStockCpuKernels(tf);
  if (fast) registerFastCpuKernels(tf);
  try {
    // 5003 elements go through the pooled (heap) arrays and the SIMD pass (its last 3 through the
    // JS loop), 7 through plain ones; values of very different sizes, a zero gradient, and (in the
    // 1,030 repeats of them) gradients whose squares are subnormal or underflow, on the SIMD pass
    // too, exercise the rounding of every step.
    const values = [1e-6, -3, 0, 250, 0.5, -0.25, 7];
    const repeat = (v: number[], n: number) => Array.from({ length: n }, (_, i) => v[i % v.length]);
    const vars = [
      tf.variable(tf.randomUniform([5003], -1, 1, 'float32', 1), true, 'adam_a'),
      tf.variable(tf.tensor1d(values), true, 'adam_b'),
      tf.variable(tf.tensor1d(repeat(values, 1030)), true, 'adam_c'),
    ];
    const optimizer = tf.train.adam(0.01);
    for (let step = 0; step < 3; step++) {
      const small = [0, 1e-8, -2, 3e4, 0.1 * step, -1, 5];
      const grads = {
        adam_a: tf.randomUniform([5003], -1e-3, 1e-3, 'float32', 10 + step),
        adam_b: tf.tensor1d(small),
        adam_c: tf.tensor1d(repeat([...small, 1e-20, -3e-23, 1e-30], 1030)),
      };
      optimizer.applyGradients(
        grads as unknown as tf.NamedTensorMap as Parameters<typeof optimizer.applyGradients>[0],
      );
      tf.dispose(Object.values(grads));
    }
    const moments = (await optimizer.getWeights()).slice(1).map((w) => w.tensor);
    const out = [...vars, ...moments].map((t) => Float32Array.from(t.dataSync()));
    optimizer.dispose();
    tf.dispose(vars);
    return out;
  } finally {
    restoreStockCpuKernels(tf);
  }
}

describe('fused Adam update', () => {
  it('gives the stock variables and moments bit for bit', async () => {
    const fused = await adamSteps(true);
    const stock = await adamSteps(false);
    expect(fused.length).toBe(9);
    expect(fused).toEqual(stock);
  });

  it('is taken out by restoreStockCpuKernels', () => {
    registerFastCpuKernels(tf);
    const proto = Object.getPrototypeOf(tf.train.adam(0.1));
    expect(Object.hasOwn(proto, 'edgeloopStockApply')).toBe(true);
    restoreStockCpuKernels(tf);
    expect(Object.hasOwn(proto, 'edgeloopStockApply')).toBe(false);
  });
});
