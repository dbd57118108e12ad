import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { takeArray } from '../../../trainer/src/tf/fast-kernels/buffer-pool.ts';
import {
  registerFastCpuKernels,
  restoreStockCpuKernels,
} from '../../../trainer/src/tf/fast-kernels/index.ts';

// The output-array pool must only recycle arrays nobody can see any more: a recycled array that a
// user (or another tensor) still holds would silently change its values.

const N = 5000;

function kernelOutput(values: Float32Array): tf.Tensor {
  // What a kernel does with its output array.
  const backend = tf.backend() as unknown as {
    makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): tf.TensorInfo;
  };
  const info = backend.makeTensorInfo([values.length], 'float32', values);
  return tf.engine().makeTensorFromTensorInfo(info);
}

beforeEach(() => {
  restoreStockCpuKernels(tf);
  registerFastCpuKernels(tf);
});
afterAll(() => restoreStockCpuKernels(tf));

describe('output array pool', () => {
  it('reuses an array once its tensor is disposed', () => {
    const a = takeArray(N);
    kernelOutput(a).dispose();
    expect(takeArray(N)).toBe(a);
  });

  it('keeps an array alive while a reshaped tensor still shares it', () => {
    const a = takeArray(N);
    const t = kernelOutput(a);
    const r = tf.reshape(t, [50, 100]);
    t.dispose();
    expect(takeArray(N)).not.toBe(a);
    r.dispose();
    expect(takeArray(N)).toBe(a);
  });

  it('never reuses an array that was read, shared as a view or stored twice', async () => {
    const read = takeArray(N);
    read.fill(3);
    const t1 = kernelOutput(read);
    const seen = t1.dataSync();
    // An array in the shared WebAssembly heap leaves it when read: the reader gets a copy and the
    // heap block may be reused; an ordinary array is what the reader holds and is never reused.
    const copied = seen !== read;
    t1.dispose();
    await Promise.resolve();
    const viewed = takeArray(N);
    const t2 = kernelOutput(viewed);
    const view = tf.slice(t2, [0], [100]); // contiguous: the stock kernel returns a subarray
    t2.dispose();
    view.dispose();
    const twice = takeArray(N);
    kernelOutput(twice).dispose();
    // (twice was recycled; take it back and store it in two buckets)
    expect(takeArray(N)).toBe(twice);
    const t3 = kernelOutput(twice);
    const t4 = kernelOutput(twice);
    t3.dispose();
    t4.dispose();
    const later = [takeArray(N), takeArray(N), takeArray(N), takeArray(N)];
    for (const a of copied ? [viewed, twice] : [read, viewed, twice]) expect(later).not.toContain(a);
    for (const a of later) a.fill(9);
    expect(seen.every((v) => v === 3)).toBe(true);
  });

  it('moves a heap array out of the heap when it is read, and reuses its block', async () => {
    const a = takeArray(N);
    a.fill(5);
    const t = kernelOutput(a);
    const seen = t.dataSync();
    expect(seen).not.toBe(a);
    expect(seen.every((v) => v === 5)).toBe(true);
    await Promise.resolve();
    expect(takeArray(N)).toBe(a);
    t.dispose();
  });

  it('leaves values a user read unchanged while training goes on', () => {
    const layer = tf.layers.reLU({ maxValue: 6 });
    const x = tf.randomUniform([2, 16, 16, 16], -8, 8, 'float32', 5);
    const y = layer.apply(x) as tf.Tensor;
    const values = y.dataSync();
    const copy = Float32Array.from(values);
    y.dispose();
    for (let i = 0; i < 5; i++) {
      tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(layer.apply(t) as tf.Tensor))(tf.mul(x, i + 2)));
    }
    expect(values).toEqual(copy);
    x.dispose();
  });

  it('pads, slices and adds into recycled arrays as into fresh ones', () => {
    const x = tf.randomUniform([2, 30, 30, 4], -1, 1, 'float32', 3);
    const run = () =>
      tf.tidy(() => {
        const padded = tf.pad(x, [
          [0, 0],
          [1, 1],
          [1, 1],
          [0, 0],
        ]);
        const cropped = tf.slice(padded, [0, 1, 0, 0], [2, 30, 32, 4]);
        return [padded, tf.add(cropped, tf.scalar(1))].map((t) => Float32Array.from(t.dataSync()));
      });
    restoreStockCpuKernels(tf);
    const stock = run();
    registerFastCpuKernels(tf);
    // Leave dirty arrays of the output sizes in the pool.
    for (const n of [2 * 32 * 32 * 4, 2 * 30 * 32 * 4]) {
      const a = takeArray(n);
      a.fill(7);
      kernelOutput(a).dispose();
    }
    expect(run()).toEqual(stock);
    x.dispose();
  });

  it('is off with the stock kernels', () => {
    restoreStockCpuKernels(tf);
    const a = takeArray(N);
    kernelOutput(a).dispose();
    expect(takeArray(N)).not.toBe(a);
  });
});
