/**
 * Fast 'cpu' kernels for float32 Slice and PadV2. ZeroPadding2D (MobileNetV2's stride-2 blocks) runs
 * PadV2 forward and Slice as its gradient; the stock kernels map every element through index/location
 * conversions (Slice through a TensorBuffer), which made those two the most expensive kernels of a
 * MobileNetV2 training step. Here both copy whole rows. Contiguous slices keep the stock kernel, which
 * returns a view without copying.
 */

import { takeArray } from './buffer-pool.ts';
import { attrsOf, type FastKernelSpec, f32Input, makeF32 } from './kernel-util.ts';

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) s[d] = s[d + 1] * shape[d + 1];
  return s;
}

/**
 * dst[dstBegin + i] = src[srcBegin + i] for every index i < size (all per-axis), rank >= 1.
 * Trailing axes that both arrays cover whole are merged first (an NHWC pad or crop of H and W
 * copies W*C contiguous floats at a time, not C); then an odometer runs over the leading axes and
 * copies one merged row at a time, long rows with a native block copy.
 */
export function copyRegion(
  src: Float32Array,
  srcShape: readonly number[],
  srcBegin: readonly number[],
  dst: Float32Array,
  dstShape: readonly number[],
  dstBegin: readonly number[],
  size: readonly number[],
): void {
  if (size.some((d) => d === 0)) return;
  const sShape = [...srcShape];
  const dShape = [...dstShape];
  const sBegin = [...srcBegin];
  const dBegin = [...dstBegin];
  const sz = [...size];
  while (sz.length > 1) {
    const k = sz[sz.length - 1];
    if (k !== sShape[sShape.length - 1] || k !== dShape[dShape.length - 1]) break;
    for (const a of [sShape, dShape, sBegin, dBegin, sz]) {
      a.pop();
      a[a.length - 1] *= k;
    }
  }
  const rank = sz.length;
  const ss = stridesOf(sShape);
  const ds = stridesOf(dShape);
  const row = sz[rank - 1];
  let so = 0;
  let dOff = 0;
  for (let d = 0; d < rank; d++) {
    so += sBegin[d] * ss[d];
    dOff += dBegin[d] * ds[d];
  }
  const idx = new Array<number>(rank).fill(0);
  for (;;) {
    if (row >= 64) dst.set(src.subarray(so, so + row), dOff);
    else for (let j = 0; j < row; j++) dst[dOff + j] = src[so + j];
    let d = rank - 2;
    for (; d >= 0; d--) {
      idx[d]++;
      so += ss[d];
      dOff += ds[d];
      if (idx[d] < sz[d]) break;
      so -= ss[d] * idx[d];
      dOff -= ds[d] * idx[d];
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

const slice: FastKernelSpec = {
  kernelName: 'Slice',
  create: (tf, stock) => (args) => {
    const x = f32Input(args, 'x');
    if (x == null || x.shape.length === 0) return stock(args);
    const a = attrsOf(args);
    const info = args.inputs.x as NonNullable<typeof args.inputs.x>;
    const [begin, size] = tf.slice_util.parseSliceParams(info, a.begin, a.size);
    tf.slice_util.assertParamsValid(info, begin, size);
    if (tf.slice_util.isSliceContinous(x.shape, begin, size)) return stock(args);
    const out = takeArray(size.reduce((p, d) => p * d, 1));
    copyRegion(x.values, x.shape, begin, out, size, new Array(size.length).fill(0), size);
    return makeF32(args.backend, size, out);
  },
};

const padV2: FastKernelSpec = {
  kernelName: 'PadV2',
  create: (_tf, stock) => (args) => {
    const x = f32Input(args, 'x');
    const a = attrsOf(args);
    const paddings = a.paddings as [number, number][] | undefined;
    if (x == null || x.shape.length === 0 || !Array.isArray(paddings) || paddings.length !== x.shape.length) {
      return stock(args);
    }
    const outShape = paddings.map((p, i) => p[0] + x.shape[i] + p[1]);
    const out = takeArray(outShape.reduce((p, d) => p * d, 1));
    // A recycled array holds old values: fill the padding value (zero included) everywhere.
    out.fill((a.constantValue ?? 0) as number);
    copyRegion(
      x.values,
      x.shape,
      new Array(x.shape.length).fill(0),
      out,
      outShape,
      paddings.map((p) => p[0]),
      x.shape,
    );
    return makeF32(args.backend, outShape, out);
  },
};

export function slicePadKernels(): FastKernelSpec[] {
  return [slice, padV2];
}
