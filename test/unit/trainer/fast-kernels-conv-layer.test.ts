import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  registerFastCpuKernels,
  restoreStockCpuKernels,
} from '../../../trainer/src/tf/fast-kernels/index.ts';
import { collect, expectClose, withStock } from '../../helpers/kernel-compare.ts';

// tfjs-layers' Conv2D on the plain Conv2D op (conv-layer-patch.ts): the same values and weight
// gradients as the stock layer, and no input gradient for a convolution that reads the image.

afterAll(() => restoreStockCpuKernels(tf));

/** Image -> 3x3 stride-2 conv -> 1x1 conv -> 3x3 valid conv with a bias -> mean: a small net. */
function net(): { layers: tf.layers.Layer[]; vars: tf.Variable[]; forward: (x: tf.Tensor) => tf.Scalar } {
  const init = (seed: number) => tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed });
  const layers = [
    tf.layers.conv2d({
      filters: 8,
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      useBias: false,
      kernelInitializer: init(1),
    }),
    tf.layers.conv2d({ filters: 12, kernelSize: 1, useBias: false, kernelInitializer: init(2) }),
    // A bias keeps the stock fused path: it must still work next to the patched layers.
    tf.layers.conv2d({
      filters: 4,
      kernelSize: 3,
      padding: 'valid',
      kernelInitializer: init(3),
      biasInitializer: init(4),
    }),
  ];
  let shape = [null, 11, 13, 3];
  for (const l of layers) {
    l.build(shape);
    shape = l.computeOutputShape(shape) as (number | null)[];
  }
  const vars = layers.flatMap((l) => l.trainableWeights.map((w) => w.read() as tf.Variable));
  const w = tf.randomUniform([2, 4, 5, 4], -1, 1, 'float32', 9);
  const forward = (x: tf.Tensor) => {
    let y = x;
    for (const l of layers) y = l.apply(y) as tf.Tensor;
    return tf.sum(tf.mul(y, w)) as tf.Scalar;
  };
  return { layers, vars, forward };
}

describe('Conv2D layers on the lazily differentiated Conv2D op', () => {
  const x = tf.randomUniform([2, 11, 13, 3], -1, 1, 'float32', 5);
  const { vars, forward } = net();

  /** Loss, the weight gradients (sorted by name) and, when asked, the image gradient. */
  const run = (withInput: boolean) => () => {
    const { value, grads } = tf.variableGrads(() => forward(x), vars);
    const weightGrads = Object.keys(grads)
      .sort()
      .map((n) => grads[n]);
    return withInput
      ? [value, ...weightGrads, tf.grad((xi: tf.Tensor) => forward(xi))(x)]
      : [value, ...weightGrads];
  };

  it('gives the loss, weight gradients and input gradient of stock tfjs', () => {
    const stock = withStock(run(true));
    registerFastCpuKernels(tf);
    const fast = collect(run(true));
    expect(fast.length).toBe(1 + vars.length + 1);
    expectClose(fast, stock, 1e-5);
  });

  it('does not compute the gradient of an input nothing needs', async () => {
    registerFastCpuKernels(tf);
    const count = async (withInput: boolean) => {
      const info = await tf.profile(() => {
        tf.dispose(run(withInput)());
      });
      return info.kernels.filter((k) => k.name === 'Conv2DBackpropInput').length;
    };
    // Weight gradients alone: only the 1x1 and the last convolution pass gradients to their input.
    expect(await count(false)).toBe(2);
    // The image gradient as well (a second pass): 2 + 3.
    expect(await count(true)).toBe(5);
  });

  it('gives bit-identical results with and without the patch on the fast kernels', () => {
    registerFastCpuKernels(tf);
    const patched = collect(run(false));
    const proto = Object.getPrototypeOf(tf.layers.conv2d({ filters: 1, kernelSize: 1 })) as {
      call: unknown;
      edgeloopStockCall: unknown;
    };
    const lazy = proto.call;
    proto.call = proto.edgeloopStockCall;
    try {
      const fused = collect(run(false));
      expect(patched.map((a) => Array.from(a))).toEqual(fused.map((a) => Array.from(a)));
    } finally {
      proto.call = lazy;
    }
  });
});

describe('whole-batch 3x3 convolutions (the patch matrix kept from forward to filter gradient)', () => {
  const w = tf.randomUniform([3, 3, 3, 8], -1, 1, 'float32', 21);
  const x1 = tf.randomUniform([2, 11, 13, 3], -1, 1, 'float32', 22);
  const x2 = tf.randomUniform([2, 11, 13, 3], -1, 1, 'float32', 23);
  const conv = (x: tf.Tensor, f: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 2, 'same');
  const r = tf.randomUniform([2, 6, 7, 8], -1, 1, 'float32', 24);

  it('gives stock gradients when other convolutions run between a forward and its gradient', () => {
    // The forward of x2 replaces the kept patches of x1, and x1's filter gradient must not use
    // them: once with x2's output unused (no gradient of its own), once used (backward runs x2 first).
    const run = () => [
      ...tf.grads((f: tf.Tensor) => {
        const loss = conv(x1, f).mul(r).sum();
        conv(x2, f);
        return loss;
      })([w]),
      ...tf.grads((f: tf.Tensor) => tf.add(conv(x1, f).mul(r).sum(), conv(x2, f).mul(r).sum()))([w]),
    ];
    const stock = withStock(run);
    registerFastCpuKernels(tf);
    expectClose(collect(run), stock, 1e-5);
  });

  it('gives the same bits from kept patches as from patches gathered again', () => {
    registerFastCpuKernels(tf);
    // Recorded: the forward keeps its patches and the filter gradient uses them.
    const kept = collect(() => tf.grads((f: tf.Tensor) => conv(x1, f).mul(r).sum())([w]));
    // Not recorded: the filter-gradient op alone gathers them itself.
    const attrs = { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 3, 8] };
    const fresh = collect(
      () =>
        tf
          .engine()
          .runKernel('Conv2DBackpropFilter', { x: x1, dy: r }, attrs as tf.NamedAttrMap) as tf.Tensor,
    );
    expect(Array.from(kept[0])).toEqual(Array.from(fresh[0]));
  });
});
