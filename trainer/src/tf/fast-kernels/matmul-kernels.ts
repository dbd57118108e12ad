/**
 * A fast 'cpu' BatchMatMul for one float32 matrix product (batch 1, any transposes): the backward
 * products of a dense layer, which tfjs's generic strided kernel made a visible part of a MobileNet step.
 * Operands are brought to rows along the reduction axis (transposed copies where needed) and
 * multiplied by matmul.ts's register-tiled loop with double accumulators. Batched products, other
 * dtypes and broadcasting go to the stock kernel.
 */
import { takeArray } from './buffer-pool.ts';
import { attrsOf, type FastKernelSpec, f32Input, makeF32 } from './kernel-util.ts';
import { matmulABtAcc, transpose } from './matmul.ts';

const batchMatMul: FastKernelSpec = {
  kernelName: 'BatchMatMul',
  create: (_tf, stock) => (args) => {
    const a = f32Input(args, 'a');
    const b = f32Input(args, 'b');
    const { transposeA, transposeB } = attrsOf(args);
    if (a == null || b == null || a.shape.length < 2 || b.shape.length < 2) return stock(args);
    const outer = (s: number[]) => s.slice(0, -2).reduce((p, d) => p * d, 1);
    if (outer(a.shape) !== 1 || outer(b.shape) !== 1 || a.shape.length !== b.shape.length) return stock(args);
    const [ar, ac] = a.shape.slice(-2);
    const [br, bc] = b.shape.slice(-2);
    const m = transposeA ? ac : ar;
    const k = transposeA ? ar : ac;
    const n = transposeB ? br : bc;
    if ((transposeB ? bc : br) !== k || m * n * k === 0) return stock(args);
    // A as [m, k] and B^T as [n, k], both along the reduction axis.
    const rowsA = transposeA ? transpose(a.values, k, m) : a.values;
    const rowsB = transposeB ? b.values : transpose(b.values, k, n);
    const acc = new Float64Array(m * n);
    matmulABtAcc(rowsA, 0, k, rowsB, 0, k, m, n, k, acc, 0, n);
    const out = takeArray(m * n);
    for (let i = 0; i < out.length; i++) out[i] = acc[i];
    return makeF32(args.backend, [...a.shape.slice(0, -2), m, n], out);
  },
};

export function matmulKernels(): FastKernelSpec[] {
  return [batchMatMul];
}
