/**
 * Fast 'cpu' kernels for binary elementwise ops: float32 Multiply, Add, Sub, RealDiv, GreaterEqual,
 * LessEqual, bool LogicalAnd, and Select with equal shapes. Broadcasting follows tfjs's rules but is
 * walked row by row (see broadcast.ts) instead of mapping every output index back to operand
 * coordinates. Results are rounded to float32 exactly as the stock kernels round them.
 */
import { rowsOf, rowWalk } from './broadcast.ts';
import { takeArray } from './buffer-pool.ts';
import { addFlat, divFlat, type FlatLoop, flatLayout, mulFlat, subFlat } from './elementwise-flat.ts';
import {
  type FastKernelSpec,
  type KernelArgs,
  makeTyped,
  type TensorInfo,
  type TfLike,
  typedInput,
} from './kernel-util.ts';

type Out = Float32Array | Uint8Array;

/** out[r*p + j] = a[aOff[r] + j*aIn] (op) b[bOff[r] + j*bIn]. */
type RowLoop<I, O extends Out> = (
  a: I,
  aOff: Int32Array,
  aIn: number,
  b: I,
  bOff: Int32Array,
  bIn: number,
  p: number,
  out: O,
) => void;
type F32Loop = RowLoop<Float32Array, Float32Array>;
type CmpLoop = RowLoop<Float32Array, Uint8Array>;

// One loop per op, so each inner loop is monomorphic and calls nothing.
const mul: F32Loop = (a, aOff, aIn, b, bOff, bIn, p, out) => {
  for (let r = 0, o = 0; r < aOff.length; r++) {
    const ai = aOff[r];
    const bi = bOff[r];
    for (let j = 0; j < p; j++) out[o++] = a[ai + j * aIn] * b[bi + j * bIn];
  }
};
const add: F32Loop = (a, aOff, aIn, b, bOff, bIn, p, out) => {
  for (let r = 0, o = 0; r < aOff.length; r++) {
    const ai = aOff[r];
    const bi = bOff[r];
    for (let j = 0; j < p; j++) out[o++] = a[ai + j * aIn] + b[bi + j * bIn];
  }
};
const sub: F32Loop = (a, aOff, aIn, b, bOff, bIn, p, out) => {
  for (let r = 0, o = 0; r < aOff.length; r++) {
    const ai = aOff[r];
    const bi = bOff[r];
    for (let j = 0; j < p; j++) out[o++] = a[ai + j * aIn] - b[bi + j * bIn];
  }
};
const div: F32Loop = (a, aOff, aIn, b, bOff, bIn, p, out) => {
  for (let r = 0, o = 0; r < aOff.length; r++) {
    const ai = aOff[r];
    const bi = bOff[r];
    for (let j = 0; j < p; j++) out[o++] = a[ai + j * aIn] / b[bi + j * bIn];
  }
};
const greaterEqual: CmpLoop = (a, aOff, aIn, b, bOff, bIn, p, out) => {
  for (let r = 0, o = 0; r < aOff.length; r++) {
    const ai = aOff[r];
    const bi = bOff[r];
    for (let j = 0; j < p; j++) out[o++] = a[ai + j * aIn] >= b[bi + j * bIn] ? 1 : 0;
  }
};
const lessEqual: CmpLoop = (a, aOff, aIn, b, bOff, bIn, p, out) => {
  for (let r = 0, o = 0; r < aOff.length; r++) {
    const ai = aOff[r];
    const bi = bOff[r];
    for (let j = 0; j < p; j++) out[o++] = a[ai + j * aIn] <= b[bi + j * bIn] ? 1 : 0;
  }
};

/** Runs a row loop over float32 inputs a and b; null when the fast path does not apply. */
function binary<O extends Out>(
  tf: TfLike,
  args: KernelArgs,
  loop: RowLoop<Float32Array, O>,
  outDtype: 'float32' | 'bool',
  flat?: FlatLoop,
): TensorInfo | null {
  const a = typedInput(args, 'a', 'float32');
  const b = typedInput(args, 'b', 'float32');
  if (a == null || b == null) return null;
  const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  const fl = flat && flatLayout(a.shape, a.values.length, b.shape, b.values.length, outShape);
  if (flat && fl && outDtype === 'float32') {
    const out = takeArray(outShape.reduce((p, d) => p * d, 1));
    flat(a.values, b.values, out, fl.layout, fl.c);
    return makeTyped(args.backend, outShape, 'float32', out);
  }
  const { rows, p } = rowsOf(outShape);
  const aw = rowWalk(a.shape, outShape);
  const bw = rowWalk(b.shape, outShape);
  if (aw == null || bw == null || rows * p === 0) return null;
  const out = (outDtype === 'bool' ? new Uint8Array(rows * p) : takeArray(rows * p)) as O;
  loop(a.values, aw.offsets, aw.inner, b.values, bw.offsets, bw.inner, p, out);
  return makeTyped(args.backend, outShape, outDtype, out);
}

function binarySpec<O extends Out>(
  kernelName: string,
  loop: RowLoop<Float32Array, O>,
  outDtype: 'float32' | 'bool',
  flat?: FlatLoop,
): FastKernelSpec {
  return {
    kernelName,
    create: (tf, stock) => (args) => binary(tf, args, loop, outDtype, flat) ?? stock(args),
  };
}

/** LogicalAnd of two bool tensors of one shape. */
const logicalAnd: FastKernelSpec = {
  kernelName: 'LogicalAnd',
  create: (tf, stock) => (args) => {
    const a = typedInput(args, 'a', 'bool');
    const b = typedInput(args, 'b', 'bool');
    if (a == null || b == null || !tf.util.arraysEqual(a.shape, b.shape)) return stock(args);
    const out = new Uint8Array(a.values.length);
    for (let i = 0; i < out.length; i++) out[i] = a.values[i] & b.values[i];
    return makeTyped(args.backend, a.shape, 'bool', out);
  },
};

/** Select (tf.where) with a bool condition of the same shape as float32 t and e. */
const select: FastKernelSpec = {
  kernelName: 'Select',
  create: (tf, stock) => (args) => {
    const c = typedInput(args, 'condition', 'bool');
    const t = typedInput(args, 't', 'float32');
    const e = typedInput(args, 'e', 'float32');
    const sameShape = c != null && t != null && e != null && tf.util.arraysEqual(c.shape, t.shape);
    if (!sameShape || c == null || t == null || e == null || !tf.util.arraysEqual(t.shape, e.shape)) {
      return stock(args);
    }
    const out = takeArray(t.values.length);
    for (let i = 0; i < out.length; i++) out[i] = c.values[i] === 1 ? t.values[i] : e.values[i];
    return makeTyped(args.backend, t.shape, 'float32', out);
  },
};

export function elementwiseKernels(): FastKernelSpec[] {
  return [
    binarySpec('Multiply', mul, 'float32', mulFlat),
    binarySpec('Add', add, 'float32', addFlat),
    binarySpec('Sub', sub, 'float32', subFlat),
    binarySpec('RealDiv', div, 'float32', divFlat),
    binarySpec('GreaterEqual', greaterEqual, 'bool'),
    binarySpec('LessEqual', lessEqual, 'bool'),
    logicalAnd,
    select,
  ];
}
