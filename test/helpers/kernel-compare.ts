/**
 * What the fast-kernel tests share: run a computation, read its outputs out of tfjs, run it again on
 * stock kernels, and compare the two with a tolerance that suits float32 sums.
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { restoreStockCpuKernels } from '../../trainer/src/tf/fast-kernels/index.ts';

export type Run = () => tf.Tensor | tf.Tensor[];

/** The outputs of fn as plain arrays (copies: no heap or pool buffer outlives the call). */
export function collect(fn: Run): Float32Array[] {
  return tf.tidy(() => {
    const out = fn();
    return (Array.isArray(out) ? out : [out]).map((t) => Float32Array.from(t.dataSync()));
  });
}

/** fn on tfjs's own cpu kernels. The caller registers the fast kernels again when it needs them. */
export function withStock(fn: Run): Float32Array[] {
  restoreStockCpuKernels(tf);
  return collect(fn);
}

/** |a - e| <= rtol * (|e| + max|e|): relative, with a scale-aware floor for cancelled sums. */
export function expectClose(actual: Float32Array[], expected: Float32Array[], rtol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, t) => {
    const a = actual[t];
    expect(a.length).toBe(e.length);
    const scale = e.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    let worst = 0;
    for (let i = 0; i < e.length; i++)
      worst = Math.max(worst, Math.abs(a[i] - e[i]) / (Math.abs(e[i]) + scale + 1e-30));
    expect(worst).toBeLessThanOrEqual(rtol);
  });
}
