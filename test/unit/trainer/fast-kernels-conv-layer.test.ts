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
