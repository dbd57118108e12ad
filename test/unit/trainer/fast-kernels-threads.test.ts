import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  kernelThreads,
  registerFastCpuKernels,
  restoreStockCpuKernels,
} from '../../../trainer/src/tf/fast-kernels/index.ts';
import { wasmHeap } from '../../../trainer/src/tf/fast-kernels/wasm/heap.ts';
import {
  closeKernelThreads,
  cut,
  setKernelThreads,
} from '../../../trainer/src/tf/fast-kernels/wasm/parallel.ts';
import { defaultThreadCount } from '../../../trainer/src/tf/fast-kernels/wasm/threads.ts';
import { collect, expectClose, type Run, withStock } from '../../helpers/kernel-compare.ts';

// The SIMD kernels split between worker threads on the shared WebAssembly heap: every split kernel
// must give what stock tfjs gives, and exactly what the same kernel gives on one thread (the parts
// are the same sums, only computed elsewhere). Shapes are small and odd, so parts are uneven, and
// the minimum work is 1 so even these split.

function withThreads(threads: number, fn: Run): Float32Array[] {
  restoreStockCpuKernels(tf);
  registerFastCpuKernels(tf);
  setKernelThreads(threads, 1);
  try {
    expect(kernelThreads()).toBe(threads);
    return collect(fn);
  } finally {
    restoreStockCpuKernels(tf);
  }
}

/** Stock, one thread and two threads: two threads match stock and one thread bit for bit. */
function check(fn: Run): void {
  const stock = withStock(fn);
  const one = withThreads(1, fn);
  const two = withThreads(2, fn);
  expectClose(two, stock, 2e-5);
  expect(two).toEqual(one);
}

let seed = 500;
const rand = (shape: number[], lo = -1, hi = 1) => tf.randomUniform(shape, lo, hi, 'float32', seed++);

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

afterAll(() => {
  restoreStockCpuKernels(tf);
  closeKernelThreads();
  setKernelThreads(defaultThreadCount());
});

describe('kernel threads', () => {
  it('run on a shared heap with a worker', () => {
    expect(wasmHeap()?.shared).toBe(true);
    restoreStockCpuKernels(tf);
    expect(registerFastCpuKernels(tf, { threads: 2 }).threads).toBe(2);
    restoreStockCpuKernels(tf);
  });

  it('cut work into uneven, aligned, non-empty parts', () => {
    expect(cut(105, 2, 4)).toEqual([
      [0, 52],
      [52, 105],
    ]);
    expect(cut(1, 2)).toEqual([[0, 1]]);
    expect(cut(7, 3)).toEqual([
      [0, 2],
      [2, 5],
      [5, 7],
    ]);
  });

  // 1x1: odd pixel counts (105 rows, 9 rows at batch 1), and 1,620 rows for two filter-gradient chunks.
  for (const [xShape, outC] of [
    [[3, 5, 7, 12], 20],
    [[1, 3, 3, 8], 4],
    [[2, 30, 27, 8], 12],
  ] as const) {
    it(`split 1x1 convolutions and their gradients: ${xShape.join('x')} -> ${outC}`, () => {
      const x = rand([...xShape]);
      const w = rand([1, 1, xShape[3], outC]);
      check(() => {
        const f = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same');
        const y = f(x, w);
        const r = tf.randomUniform(y.shape, -1, 1, 'float32', 7);
        return [y, ...tf.grads((a: tf.Tensor, b: tf.Tensor) => f(a, b).mul(r).sum())([x, w])];
      });
    });
  }

  for (const [shape, stride, pad] of [
    [[3, 9, 7, 12], 1, 'same'],
    [[3, 10, 11, 8], 2, 'valid'],
    [[1, 6, 5, 4], 1, 'same'],
  ] as const) {
    it(`split depthwise convolutions and their gradients: ${shape.join('x')} stride ${stride}`, () => {
      const x = rand([...shape]);
      const w = rand([3, 3, shape[3], 1]);
      check(() => {
        const f = (a: tf.Tensor, b: tf.Tensor) =>
          tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad);
        const y = f(x, w);
        const r = tf.randomUniform(y.shape, -1, 1, 'float32', 8);
        return [y, ...tf.grads((a: tf.Tensor, b: tf.Tensor) => f(a, b).mul(r).sum())([x, w])];
      });
    });
  }

  // 429 rows: two sum blocks; 1,615 rows: seven blocks, split 4 + 3; batch 1 with 9 rows.
  for (const shape of [
    [3, 11, 13, 12],
    [5, 17, 19, 8],
    [1, 3, 3, 4],
  ]) {
    it(`split batch normalisation and ReLU6, forward and backward: ${shape.join('x')}`, () => {
      const c = shape[3];
      const bn = tf.layers.batchNormalization({
        gammaInitializer: tf.initializers.randomUniform({ minval: 0.5, maxval: 1.5, seed: 3 }),
        betaInitializer: tf.initializers.randomUniform({ minval: -1, maxval: 1, seed: 4 }),
      });
      bn.build([null, ...shape.slice(1)]);
      const relu = tf.layers.reLU({ maxValue: 6 });
      const x = tf.add(rand(shape, -3, 3), tf.linspace(-5, 5, c));
      const w = rand(shape);
      check(() => {
        const f = (a: tf.Tensor) =>
          relu.apply(bn.apply(a, { training: true }) as tf.Tensor, { training: true }) as tf.Tensor;
        const loss = (a: tf.Tensor) => tf.sum(tf.mul(f(a), w));
        const vars = bn.trainableWeights.map((v) => v.read() as tf.Variable);
        const { grads } = tf.variableGrads(() => loss(x) as tf.Scalar, vars);
        return [
          f(x),
          tf.grad(loss)(x),
          ...Object.keys(grads)
            .sort()
            .map((n) => grads[n]),
        ];
      });
    });
  }

  it('stay on the calling thread when set to 1 thread or EDGELOOP_TRAIN_THREADS=1', () => {
    expect(defaultThreadCount({ EDGELOOP_TRAIN_THREADS: '1' })).toBe(1);
    expect(defaultThreadCount({ EDGELOOP_TRAIN_THREADS: '3' })).toBe(3);
    expect(defaultThreadCount({})).toBeGreaterThanOrEqual(1);
    restoreStockCpuKernels(tf);
    expect(registerFastCpuKernels(tf, { threads: 1 }).threads).toBe(1);
    restoreStockCpuKernels(tf);
  });

  it('fall back to one thread and a private arena without SharedArrayBuffer', () => {
    // A child without SharedArrayBuffer: no pool, tensors stay ordinary arrays, results as stock.
    const root = fileURLToPath(new URL('../../../trainer/src/tf/fast-kernels/', import.meta.url));
    // (The flag --no-harmony-sharedarraybuffer would also stop tsx's loader, which needs it.)
    const script = `
      delete globalThis.SharedArrayBuffer;
      const tf = await import('@tensorflow/tfjs');
      const fk = await import(${JSON.stringify(`${root}index.ts`)});
      const { wasmHeap } = await import(${JSON.stringify(`${root}wasm/heap.ts`)});
      tf.env().set('PROD', true);
      await tf.setBackend('cpu');
      const x = tf.randomUniform([3, 9, 7, 8], -1, 1, 'float32', 1);
      const w1 = tf.randomUniform([1, 1, 8, 12], -1, 1, 'float32', 2);
      const w2 = tf.randomUniform([3, 3, 12, 1], -1, 1, 'float32', 3);
      const run = () => tf.tidy(() => {
        const f = (a, b, c) => tf.depthwiseConv2d(tf.relu6(tf.conv2d(a, b, 1, 'same')), c, 2, 'valid').square().sum();
        return [f(x, w1, w2), ...tf.grads(f)([x, w1, w2])].map((t) => Array.from(t.dataSync()));
      });
      const stock = run();
      const { threads } = fk.registerFastCpuKernels(tf);
      const fast = run();
      let worst = 0;
      stock.forEach((s, i) => s.forEach((v, j) => { worst = Math.max(worst, Math.abs(fast[i][j] - v) / (Math.abs(v) + 1)); }));
      console.log(JSON.stringify({ sab: typeof SharedArrayBuffer, shared: wasmHeap().shared, threads, close: worst < 1e-4 }));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(JSON.parse(out.trim().split('\n').at(-1) ?? '')).toEqual({
      sab: 'undefined',
      shared: false,
      threads: 1,
      close: true,
    });
  }, 70_000);

  it('do not keep a training process alive', () => {
    // A child process trains one step on two threads and must then exit by itself.
    const fastKernels = fileURLToPath(
      new URL('../../../trainer/src/tf/fast-kernels/index.ts', import.meta.url),
    );
    const script = `
      const tf = await import('@tensorflow/tfjs');
      const { registerFastCpuKernels } = await import(${JSON.stringify(fastKernels)});
      tf.env().set('PROD', true);
      await tf.setBackend('cpu');
      const { threads } = registerFastCpuKernels(tf, { threads: 2 });
      const model = tf.sequential({ layers: [
        tf.layers.conv2d({ inputShape: [24, 24, 8], filters: 16, kernelSize: 1 }),
        tf.layers.batchNormalization(), tf.layers.reLU({ maxValue: 6 }),
        tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same' }),
        tf.layers.globalAveragePooling2d({}), tf.layers.dense({ units: 2, activation: 'softmax' }) ] });
      model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
      const loss = await model.trainOnBatch(tf.randomUniform([16, 24, 24, 8]), tf.oneHot(tf.zeros([16], 'int32'), 2));
      console.log(JSON.stringify({ threads, finite: Number.isFinite(loss) }));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(JSON.parse(out.trim().split('\n').at(-1) ?? '')).toEqual({ threads: 2, finite: true });
  }, 70_000);
});
