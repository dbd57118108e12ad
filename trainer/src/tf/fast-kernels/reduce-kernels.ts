/**
 * Fast 'cpu' kernels for float32 Sum and Mean over one contiguous run of axes: all but the last
 * (per-channel statistics of an NHWC tensor, as BatchNormalization needs), [1, 2] (global average
 * pooling), all axes, or the last. The stock kernels first transpose the reduced axes innermost;
 * here the input is viewed as [outer, reduced, inner] and each reduced row is added into doubles.
 */
import {
  attrsOf,
  type FastKernelSpec,
  f32Input,
  type KernelArgs,
  makeF32,
  type TfLike,
} from './kernel-util.ts';

/** out[o*inner + j] = sum_r x[(o*reduced + r)*inner + j] (divided by `reduced` for a mean). */
function reduceMiddle(
  x: Float32Array,
  outer: number,
  reduced: number,
  inner: number,
  mean: boolean,
): Float32Array {
  const out = new Float32Array(outer * inner);
  const acc = new Float64Array(inner);
  for (let o = 0, i = 0; o < outer; o++) {
    acc.fill(0);
    for (let r = 0; r < reduced; r++) {
      for (let j = 0; j < inner; j++) acc[j] += x[i++];
    }
    for (let j = 0; j < inner; j++) out[o * inner + j] = mean ? acc[j] / reduced : acc[j];
  }
  return out;
}

function reduce(tf: TfLike, args: KernelArgs, mean: boolean): ReturnType<typeof makeF32> | null {
  const x = f32Input(args, 'x');
  if (x == null || x.values.length === 0) return null;
  const a = attrsOf(args);
  const shape = x.shape;
  const axes = [...new Set(tf.util.parseAxisParam(a.axis, shape))].sort((u, v) => u - v);
  if (axes.length === 0 || axes.some((ax, i) => ax !== axes[0] + i)) return null;
  const first = axes[0];
  const last = axes[axes.length - 1];
  const size = (dims: number[]) => dims.reduce((p, d) => p * d, 1);
  const outer = size(shape.slice(0, first));
  const reduced = size(shape.slice(first, last + 1));
  const inner = size(shape.slice(last + 1));
  const out = reduceMiddle(x.values, outer, reduced, inner, mean);
  const outShape =
    a.keepDims === true
      ? shape.map((d, i) => (axes.includes(i) ? 1 : d))
      : shape.filter((_, i) => !axes.includes(i));
  return makeF32(args.backend, outShape, out);
}

export function reduceKernels(): FastKernelSpec[] {
  return [
    { kernelName: 'Sum', create: (tf, stock) => (args) => reduce(tf, args, false) ?? stock(args) },
    { kernelName: 'Mean', create: (tf, stock) => (args) => reduce(tf, args, true) ?? stock(args) },
  ];
}
