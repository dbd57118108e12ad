/**
 * Fast 'cpu' kernels for the float32 unary ops of ReLU/ReLU6 and their gradients (Relu, ClipByValue,
 * Step) and for Tile. Each uses the stock kernel's exact expression, in a plain loop instead of a
 * per-element callback.
 */

import { takeArray } from './buffer-pool.ts';
import { attrsOf, type FastKernelSpec, f32Input, makeF32 } from './kernel-util.ts';

const relu: FastKernelSpec = {
  kernelName: 'Relu',
  create: (_tf, stock) => (args) => {
    const x = f32Input(args, 'x');
    if (x == null) return stock(args);
    const v = x.values;
    const out = takeArray(v.length);
    for (let i = 0; i < v.length; i++) out[i] = Math.max(0, v[i]);
    return makeF32(args.backend, x.shape, out);
  },
};

const clipByValue: FastKernelSpec = {
  kernelName: 'ClipByValue',
  create: (_tf, stock) => (args) => {
    const x = f32Input(args, 'x');
    const a = attrsOf(args);
    const lo = a.clipValueMin;
    const hi = a.clipValueMax;
    if (x == null || typeof lo !== 'number' || typeof hi !== 'number') return stock(args);
    const v = x.values;
    const out = takeArray(v.length);
    for (let i = 0; i < v.length; i++) {
      const e = v[i];
      // biome-ignore lint/complexity/useMathMinMax: the stock expression, which keeps -0 where Math.max would not
      out[i] = e > hi ? hi : e < lo ? lo : e;
    }
    return makeF32(args.backend, x.shape, out);
  },
};

const step: FastKernelSpec = {
  kernelName: 'Step',
  create: (_tf, stock) => (args) => {
    const x = f32Input(args, 'x');
    const alpha = attrsOf(args).alpha;
    if (x == null || typeof alpha !== 'number') return stock(args);
    const v = x.values;
    const out = takeArray(v.length);
    for (let i = 0; i < v.length; i++) {
      const e = v[i];
      out[i] = Number.isNaN(e) ? Number.NaN : e > 0 ? 1 : alpha;
    }
    return makeF32(args.backend, x.shape, out);
  },
};

/**
 * Writes x tiled by reps into out from axis `d` on: the inner axes first, then the block copied
 * (reps[d] - 1) more times with copyWithin.
 */
function tileInto(
  x: Float32Array,
  shape: number[],
  reps: number[],
  d: number,
  xOff: number,
  out: Float32Array,
  oOff: number,
  xStrides: number[],
  oStrides: number[],
): void {
  const n = shape[d];
  if (d === shape.length - 1) {
    for (let r = 0; r < reps[d]; r++) out.set(x.subarray(xOff, xOff + n), oOff + r * n);
    return;
  }
  for (let i = 0; i < n; i++) {
    tileInto(x, shape, reps, d + 1, xOff + i * xStrides[d], out, oOff + i * oStrides[d], xStrides, oStrides);
  }
  const block = n * oStrides[d];
  for (let r = 1; r < reps[d]; r++) out.copyWithin(oOff + r * block, oOff, oOff + block);
}

function stridesOf(shape: number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) s[d] = s[d + 1] * shape[d + 1];
  return s;
}

const tile: FastKernelSpec = {
  kernelName: 'Tile',
  create: (_tf, stock) => (args) => {
    const x = f32Input(args, 'x');
    const reps = attrsOf(args).reps as number[] | undefined;
    if (x == null || !Array.isArray(reps) || reps.length !== x.shape.length || x.shape.length === 0) {
      return stock(args);
    }
    const outShape = x.shape.map((d, i) => d * reps[i]);
    const out = new Float32Array(outShape.reduce((p, d) => p * d, 1));
    if (out.length > 0) {
      tileInto(x.values, x.shape, reps, 0, 0, out, 0, stridesOf(x.shape), stridesOf(outShape));
    }
    return makeF32(args.backend, outShape, out);
  },
};

export function unaryKernels(): FastKernelSpec[] {
  return [relu, clipByValue, step, tile];
}
