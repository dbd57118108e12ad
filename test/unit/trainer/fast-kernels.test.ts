import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fastCpuKernelNames,
  registerFastCpuKernels,
  restoreStockCpuKernels,
} from '../../../trainer/src/tf/fast-kernels/index.ts';
import { collect, expectClose, withStock } from '../../helpers/kernel-compare.ts';

type Pad = 'same' | 'valid' | number;

/**
 * Runs fn with the fast kernels, where `names` must take their fast path: their stock fallback is
 * swapped for one that throws, so a silent fallback fails the test.
 */
function withFastOnly(names: string[], fn: () => tf.Tensor | tf.Tensor[]): Float32Array[] {
  restoreStockCpuKernels(tf);
  const saved = names.map((n) => tf.getKernel(n, 'cpu'));
  for (const n of names) {
    tf.unregisterKernel(n, 'cpu');
    tf.registerKernel({
      kernelName: n,
      backendName: 'cpu',
      kernelFunc: () => {
        throw new Error(`${n} fell back to the stock kernel`);
      },
    });
  }
  try {
    registerFastCpuKernels(tf);
    return collect(fn);
  } finally {
    restoreStockCpuKernels(tf);
    names.forEach((n, i) => {
      tf.unregisterKernel(n, 'cpu');
      tf.registerKernel(saved[i]);
    });
  }
}

function withFast(fn: () => tf.Tensor | tf.Tensor[]): Float32Array[] {
  registerFastCpuKernels(tf);
  try {
    return collect(fn);
  } finally {
    restoreStockCpuKernels(tf);
  }
}

let seed = 1;
const rand = (shape: number[], lo = -1, hi = 1) => tf.randomUniform(shape, lo, hi, 'float32', seed++);

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

afterAll(() => {
  restoreStockCpuKernels(tf);
});

describe('registration', () => {
  it('is idempotent and restorable', () => {
    const first = registerFastCpuKernels(tf);
    const second = registerFastCpuKernels(tf);
    expect(second.registered).toEqual(first.registered);
    expect(first.registered).toEqual(fastCpuKernelNames());
    expect(restoreStockCpuKernels(tf).restored).toEqual(first.registered);
    expect(restoreStockCpuKernels(tf).restored).toEqual([]);
  });
});

interface ConvCase {
  batch: number;
  h: number;
  w: number;
  inC: number;
  outC: number;
  k: number;
  stride: number;
  pad: Pad;
}

/** Batch 1 and 3, odd and even sizes, 1x1 and 3x3, stride 1 and 2, same/valid, channels 3..40. */
function convGrid(): ConvCase[] {
  const channels = [
    [3, 8],
    [5, 7],
    [16, 33],
    [40, 12],
  ];
  const cases: ConvCase[] = [];
  let i = 0;
  for (const batch of [1, 3])
    for (const h of [7, 8])
      for (const k of [1, 3])
        for (const stride of [1, 2])
          for (const pad of ['same', 'valid'] as Pad[]) {
            const [inC, outC] = channels[i++ % channels.length];
            cases.push({ batch, h, w: h + 1, inC, outC, k, stride, pad });
          }
  cases.push({ batch: 2, h: 9, w: 6, inC: 4, outC: 6, k: 3, stride: 2, pad: 1 });
  cases.push({ batch: 2, h: 5, w: 5, inC: 3, outC: 4, k: 2, stride: 1, pad: 'same' });
  // More output pixels than one pass of the kernels' blocking handles (several partial blocks).
  cases.push({ batch: 3, h: 16, w: 17, inC: 24, outC: 21, k: 1, stride: 1, pad: 'same' });
  cases.push({ batch: 3, h: 33, w: 30, inC: 3, outC: 8, k: 3, stride: 2, pad: 'same' });
  return cases;
}

const label = (c: ConvCase) => `b${c.batch} ${c.h}x${c.w}x${c.inC}->${c.outC} k${c.k} s${c.stride} ${c.pad}`;

describe('Conv2D kernels', () => {
  it.each(convGrid().map((c) => [label(c), c] as const))('forward and gradients match stock: %s', (_, c) => {
    const x = rand([c.batch, c.h, c.w, c.inC]);
    const w = rand([c.k, c.k, c.inC, c.outC]);
    const bias = rand([c.outC]);
    const run = () => {
      const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.stride, c.pad);
      const fused = tf.fused.conv2d({
        x: x as tf.Tensor4D,
        filter: w as tf.Tensor4D,
        strides: c.stride,
        pad: c.pad,
        bias,
        activation: 'relu6',
      });
      const r = tf.randomUniform(y.shape, -1, 1, 'float32', 99);
      const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf
          .conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad)
          .mul(r)
          .sum(),
      )([x, w]);
      return [y, fused, dx, dw];
    };
    const names = ['Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'];
    expectClose(withFastOnly(names, run), withStock(run));
  });

  it('forward handles dilations', () => {
    const x = rand([2, 9, 8, 5]);
    const w = rand([3, 3, 5, 6]);
    const run = () => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same', 'NHWC', 2);
    expectClose(withFastOnly(['Conv2D'], run), withStock(run));
  });
});

describe('DepthwiseConv2dNative kernels', () => {
  it.each(convGrid().map((c) => [label(c), c] as const))('forward and gradients match stock: %s', (_, c) => {
    const x = rand([c.batch, c.h, c.w, c.inC]);
    const w = rand([c.k, c.k, c.inC, 1]);
    const run = () => {
      const f = (a: tf.Tensor, b: tf.Tensor) =>
        tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad as 'same');
      const y = f(x, w);
      const r = tf.randomUniform(y.shape, -1, 1, 'float32', 98);
      const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => f(a, b).mul(r).sum())([x, w]);
      return [y, dx, dw];
    };
    const names = [
      'DepthwiseConv2dNative',
      'DepthwiseConv2dNativeBackpropInput',
      'DepthwiseConv2dNativeBackpropFilter',
    ];
    expectClose(withFastOnly(names, run), withStock(run));
  });

  it('falls back to stock for channel multiplier 2', () => {
    const x = rand([2, 6, 7, 3]);
    const w = rand([3, 3, 3, 2]);
    const run = () => {
      const y = tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same');
      const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same').sum(),
      )([x, w]);
      return [y, dx, dw];
    };
    expectClose(withFast(run), withStock(run));
  });
});

describe('elementwise kernels', () => {
  const pairs: [number[], number[]][] = [
    [[2, 3, 4, 5], [5]],
    [
      [2, 3, 4, 5],
      [1, 1, 1, 5],
    ],
    [[5], [2, 3, 4, 5]],
    [[2, 3, 4, 5], []],
    [[], [3, 7]],
    [
      [2, 3, 4, 5],
      [2, 3, 4, 5],
    ],
    [
      [2, 1, 1, 5],
      [2, 3, 4, 5],
    ],
    [
      [2, 3, 4, 5],
      [2, 3, 4, 1],
    ],
    [
      [3, 1],
      [1, 4],
    ],
    [[40], [40]],
  ];
  const binaryOps: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
    ['Multiply', tf.mul],
    ['Add', tf.add],
    ['Sub', tf.sub],
    ['RealDiv', tf.div],
    ['GreaterEqual', (a, b) => tf.greaterEqual(a, b).cast('float32')],
    ['LessEqual', (a, b) => tf.lessEqual(a, b).cast('float32')],
  ];
  it.each(pairs.map(([a, b]) => [`[${a}] x [${b}]`, a, b] as const))(
    '%s matches stock exactly',
    (_, aShape, bShape) => {
      // Rounded values make the comparisons hit equality; b stays away from zero for RealDiv.
      const a = rand(aShape, -3, 3).mul(4).round().div(4);
      const b = rand(bShape, 0.5, 2).mul(4).round().div(4);
      for (const [name, op] of binaryOps) {
        const run = () => [op(a, b), op(b, a.add(1))];
        expect(withFastOnly([name], run)).toEqual(withStock(run));
      }
    },
  );

  it('LogicalAnd and Select match stock exactly', () => {
    const x = rand([3, 4, 5]);
    const y = rand([3, 4, 5]);
    const run = () => {
      const c = tf.logicalAnd(tf.greaterEqual(x, 0), tf.lessEqual(y, 0.5));
      return [c.cast('float32'), tf.where(c, x, y)];
    };
    expect(withFastOnly(['LogicalAnd', 'Select'], run)).toEqual(withStock(run));
  });

  it('Relu, ClipByValue, Step and Tile match stock exactly', () => {
    const x = rand([2, 3, 4, 6], -8, 8);
    const v = rand([1, 1, 1, 6]);
    const r = rand([5]);
    const run = () => [
      tf.relu(x),
      tf.clipByValue(x, 0, 6),
      tf.step(x, 0.25),
      tf.tile(v, [2, 3, 4, 1]),
      tf.tile(x, [1, 2, 1, 3]),
      tf.tile(r, [3]),
    ];
    expect(withFastOnly(['Relu', 'ClipByValue', 'Step', 'Tile'], run)).toEqual(withStock(run));
  });
});

describe('FusedBatchNorm kernel', () => {
  it('matches stock exactly with vector, scalar and absent statistics', () => {
    const x = rand([2, 3, 4, 6], -3, 3);
    const mean = rand([6]);
    const variance = rand([6], 0.1, 2);
    const scale = rand([6], 0.5, 1.5);
    const offset = rand([6]);
    const run = () => [
      tf.batchNorm4d(
        x as tf.Tensor4D,
        mean as tf.Tensor1D,
        variance as tf.Tensor1D,
        offset as tf.Tensor1D,
        scale as tf.Tensor1D,
        1e-3,
      ),
      tf.batchNorm(x, mean, variance),
      tf.batchNorm(x, tf.scalar(0.5), tf.scalar(2), undefined, tf.scalar(1.5), 1e-2),
    ];
    expect(withFastOnly(['FusedBatchNorm'], run)).toEqual(withStock(run));
  });
});

describe('reduction kernels', () => {
  const cases: [number[], number | number[] | null, boolean][] = [
    [[2, 3, 4, 5], [0, 1, 2], false],
    [[2, 3, 4, 5], [0, 1, 2], true],
    [[2, 3, 4, 5], [1, 2], false],
    [[2, 3, 4, 5], null, false],
    [[2, 3, 4, 5], null, true],
    [[2, 3, 4, 5], -1, false],
    [[2, 3, 4, 5], 0, true],
    [[7, 40], [0], false],
    [[9], 0, false],
  ];
  it.each(cases.map(([s, ax, k]) => [`[${s}] axis ${JSON.stringify(ax)} keepDims ${k}`, s, ax, k] as const))(
    'Sum and Mean %s match stock',
    (_, shape, axis, keepDims) => {
      const x = rand(shape);
      const ax = axis ?? undefined;
      const run = () => [tf.sum(x, ax, keepDims), tf.mean(x, ax, keepDims)];
      const fast = withFastOnly(['Sum', 'Mean'], run);
      expectClose(fast, withStock(run));
    },
  );

  it('non-contiguous axes fall back to stock', () => {
    const x = rand([2, 3, 4, 5]);
    const run = () => [tf.sum(x, [0, 2]), tf.mean(x, [1, 3], true)];
    expectClose(withFast(run), withStock(run));
  });
});

describe('gradients of a small conv / depthwise / batchnorm block', () => {
  it('match stock', () => {
    const x = rand([3, 9, 8, 3]);
    const w1 = rand([3, 3, 3, 8]);
    const dw = rand([3, 3, 8, 1]);
    const pw = rand([1, 1, 8, 12]);
    const gamma = rand([12], 0.5, 1.5);
    const beta = rand([12]);
    // tfjs cannot save an absent scale for backprop, so the plain normalisations get ones/zeros.
    const bn = (t: tf.Tensor4D, g?: tf.Tensor1D, b?: tf.Tensor1D) => {
      const { mean, variance } = tf.moments(t, [0, 1, 2]);
      const c = t.shape[3];
      return tf.batchNorm4d(
        t,
        mean as tf.Tensor1D,
        variance as tf.Tensor1D,
        b ?? tf.zeros<tf.Rank.R1>([c]),
        g ?? tf.ones<tf.Rank.R1>([c]),
        1e-3,
      );
    };
    const f = (xi: tf.Tensor, a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, g: tf.Tensor, o: tf.Tensor) => {
      let h = tf.conv2d(xi as tf.Tensor4D, a as tf.Tensor4D, 2, 'same');
      h = tf.clipByValue(tf.relu(bn(h)), 0, 6);
      h = tf.depthwiseConv2d(h, b as tf.Tensor4D, 1, 'same');
      h = tf.conv2d(tf.relu(bn(h)), c as tf.Tensor4D, 1, 'same');
      h = bn(h, g as tf.Tensor1D, o as tf.Tensor1D);
      return tf.mean(h, [1, 2]).square().sum();
    };
    const run = () => tf.grads(f)([x, w1, dw, pw, gamma, beta]);
    expectClose(withFast(run), withStock(run), 1e-4);
  });
});

describe('training a tiny MobileNet-like model', () => {
  function build(): tf.LayersModel {
    const input = tf.input({ shape: [12, 12, 3] });
    const bnRelu6 = (t: tf.SymbolicTensor) =>
      tf.layers.reLU({ maxValue: 6 }).apply(tf.layers.batchNormalization().apply(t)) as tf.SymbolicTensor;
    let h = bnRelu6(
      tf.layers
        .conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false })
        .apply(input) as tf.SymbolicTensor,
    );
    h = bnRelu6(
      tf.layers
        .depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false })
        .apply(h) as tf.SymbolicTensor,
    );
    h = bnRelu6(
      tf.layers.conv2d({ filters: 16, kernelSize: 1, useBias: false }).apply(h) as tf.SymbolicTensor,
    );
    h = bnRelu6(
      tf.layers
        .depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same', useBias: false })
        .apply(h) as tf.SymbolicTensor,
    );
    h = tf.layers.globalAveragePooling2d({}).apply(h) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 3, activation: 'softmax' }).apply(h) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
    return model;
  }

  it('gives the same loss and weights with and without fast kernels', async () => {
    const xs = rand([4, 12, 12, 3]);
    const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 1], 'int32'), 3).toFloat();
    const reference = build();
    const initial = reference.getWeights().map((w) => w.clone());

    const train = async (fast: boolean) => {
      const model = build();
      model.setWeights(initial);
      if (fast) registerFastCpuKernels(tf);
      else restoreStockCpuKernels(tf);
      try {
        const losses: number[] = [];
        for (let i = 0; i < 2; i++) losses.push((await model.trainOnBatch(xs, ys)) as number);
        return { losses, weights: model.getWeights().map((w) => Float32Array.from(w.dataSync())) };
      } finally {
        restoreStockCpuKernels(tf);
        model.dispose();
      }
    };
    const stock = await train(false);
    const fast = await train(true);
    expectClose([Float32Array.from(fast.losses)], [Float32Array.from(stock.losses)], 1e-5);
    expectClose(fast.weights, stock.weights, 1e-4);
    reference.dispose();
  });
});
