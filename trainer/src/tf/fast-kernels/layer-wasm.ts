/**
 * The fused batch-norm and ReLU6 passes of layer-kernels.ts on the WebAssembly SIMD channel passes
 * (wasm/channel-module.ts), four channels per instruction. Batch norm needs a channel count that is
 * a multiple of 4 (every MobileNet layer has one); ReLU6 does any length, the last n % 4 floats in
 * JS. Per-channel sums are float32 within blocks of BLOCK rows and doubles across blocks, so they
 * stay as accurate as the JS loops' double sums for practical purposes. Tensors are read and written
 * where they lie in the WebAssembly heap (heap-io.ts), so only the passes touch the activations;
 * big passes are cut into row ranges (sums: ranges of blocks) that run on the kernel threads.
 */
import { type HeapSession, heapSession } from './heap-io.ts';
import { type ChannelPasses, createChannelPasses } from './wasm/channel-runtime.ts';
import { cut, partsFor, runParts } from './wasm/parallel.ts';

const BLOCK = 256;

/** One module per process on the shared heap, compiled on first use; null without WebAssembly SIMD. */
export function channelPasses(): ChannelPasses | null {
  return createChannelPasses();
}

/**
 * Per-channel double sums of a column pass over blocks of rows: every block gets its own float32
 * accumulators (`nAcc` rows of c), the calls are written as records of the pass's `<name>List`
 * export, and ranges of blocks run on the threads. `argsOf(r0, rows, accs)` gives a block's raw
 * arguments.
 */
function blockSums(
  cp: ChannelPasses,
  s: HeapSession,
  rows: number,
  c: number,
  name: 'colSum' | 'colSqDev' | 'colGradSums',
  nAcc: number,
  argsOf: (r0: number, n: number, accs: number[]) => number[],
): Float64Array[] {
  const blocks = Math.ceil(rows / BLOCK);
  const width = argsOf(0, 0, new Array(nAcc).fill(0)).length;
  const accBase = s.temp(blocks * nAcc * c);
  const list = s.temp(blocks * width);
  s.zero(accBase, blocks * nAcc * c);
  const records = new Int32Array(s.f32().buffer, list * 4, blocks * width);
  for (let b = 0; b < blocks; b++) {
    const accs = Array.from({ length: nAcc }, (_, j) => accBase + (b * nAcc + j) * c);
    records.set(argsOf(b * BLOCK, Math.min(BLOCK, rows - b * BLOCK), accs), b * width);
  }
  const parts = cut(blocks, partsFor(rows * c));
  runParts(
    `${name}List`,
    parts.map(([b0, b1]) => [(list + b0 * width) * 4, b1 - b0]),
    cp.raw,
  );
  const heap = s.f32();
  const out = Array.from({ length: nAcc }, () => new Float64Array(c));
  for (let b = 0; b < blocks; b++) {
    for (let j = 0; j < nAcc; j++) {
      const o = out[j];
      const a = accBase + (b * nAcc + j) * c;
      for (let k = 0; k < c; k++) o[k] += heap[a + k];
    }
  }
  return out;
}

/** Row ranges of a rows x c pass for the threads. */
function rowParts(rows: number, c: number): [number, number][] {
  return cut(rows, partsFor(rows * c));
}

export interface BnForward {
  y: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  /** relu6(y), when asked for with a max. */
  act?: Float32Array;
}

export function bnForwardWasm(
  cp: ChannelPasses,
  xv: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  eps: number,
  relu6Max: number | null = null,
): BnForward {
  const c = gamma.length;
  const cv = c >> 2;
  const n = xv.length;
  const rows = n / c;
  const s = heapSession(cp.heapOf());
  const xb = s.input(xv);
  const [mb, mulb, bb] = [0, 0, 0].map(() => s.temp(c));
  const y = s.output(n);
  const act = relu6Max == null ? null : s.output(n);
  const [sum] = blockSums(cp, s, rows, c, 'colSum', 1, (r, k, [acc]) => [(xb + r * c) * 4, acc * 4, k, cv]);
  const mean = new Float32Array(c);
  for (let k = 0; k < c; k++) mean[k] = sum[k] / rows;
  s.f32().set(mean, mb);
  // Two passes (mean, then squared deviations) as tf.moments, so a large mean cannot cancel.
  const [sq] = blockSums(cp, s, rows, c, 'colSqDev', 1, (r, k, [acc]) => [
    (xb + r * c) * 4,
    mb * 4,
    acc * 4,
    k,
    cv,
  ]);
  const heap = s.f32();
  const variance = new Float32Array(c);
  for (let k = 0; k < c; k++) {
    variance[k] = sq[k] / rows;
    heap[mulb + k] = gamma[k] / Math.sqrt(Math.fround(variance[k] + eps));
  }
  heap.set(beta, bb);
  runParts(
    act == null ? 'bnApply' : 'bnApplyRelu6',
    rowParts(rows, c).map(([r0, r1]) => [
      (xb + r0 * c) * 4,
      (y.off + r0 * c) * 4,
      ...(act == null ? [] : [(act.off + r0 * c) * 4]),
      mb * 4,
      mulb * 4,
      bb * 4,
      r1 - r0,
      cv,
      ...(act == null ? [] : [Math.fround(relu6Max ?? 0)]),
    ]),
    cp.raw,
  );
  s.done();
  return { y: y.array, mean, variance, ...(act == null ? {} : { act: act.array }) };
}

export interface BnGrad {
  dx: Float32Array;
  dGamma: Float32Array;
  dBeta: Float32Array;
}

/** The closed form of layer-kernels.ts's batchNormTrainGrad, on the SIMD passes. */
export function bnGradWasm(
  cp: ChannelPasses,
  dy: Float32Array,
  xv: Float32Array,
  gamma: Float32Array,
  mean: Float32Array,
  variance: Float32Array,
  eps: number,
): BnGrad {
  const c = gamma.length;
  const cv = c >> 2;
  const n = xv.length;
  const rows = n / c;
  const s = heapSession(cp.heapOf());
  const db = s.input(dy);
  const xb = s.input(xv);
  const [mb, ab, bb, sb] = [0, 0, 0, 0].map(() => s.temp(c));
  const dx = s.output(n);
  s.f32().set(mean, mb);
  const [sumDy, sumDyXhat] = blockSums(cp, s, rows, c, 'colGradSums', 2, (r, k, [s1, s2]) => [
    (db + r * c) * 4,
    (xb + r * c) * 4,
    mb * 4,
    s1 * 4,
    s2 * 4,
    k,
    cv,
  ]);
  const heap = s.f32();
  const dGamma = new Float32Array(c);
  const dBeta = new Float32Array(c);
  for (let k = 0; k < c; k++) {
    const r = 1 / Math.sqrt(Math.fround(variance[k] + eps));
    const a = gamma[k] * r;
    dBeta[k] = sumDy[k];
    dGamma[k] = sumDyXhat[k] * r;
    heap[ab + k] = a;
    heap[bb + k] = (-a * r * r * sumDyXhat[k]) / rows;
    heap[sb + k] = (-a * sumDy[k]) / rows;
  }
  runParts(
    'bnGrad',
    rowParts(rows, c).map(([r0, r1]) => [
      (db + r0 * c) * 4,
      (xb + r0 * c) * 4,
      (dx.off + r0 * c) * 4,
      mb * 4,
      ab * 4,
      bb * 4,
      sb * 4,
      r1 - r0,
      cv,
    ]),
    cp.raw,
  );
  s.done();
  return { dx: dx.array, dGamma, dBeta };
}

/** min(max(x, 0), hi) for the first n - n % 4 floats; the caller finishes the tail. */
export function relu6Wasm(cp: ChannelPasses, x: Float32Array, hi: number): Float32Array {
  const vecs = x.length >> 2;
  const s = heapSession(cp.heapOf());
  const xb = s.input(x);
  const y = s.output(x.length);
  runParts(
    'relu6',
    rowParts(vecs, 4).map(([v0, v1]) => [(xb + 4 * v0) * 4, (y.off + 4 * v0) * 4, v1 - v0, 1, hi]),
    cp.raw,
  );
  s.done();
  return y.array;
}

/** The stock ReLU6 gradient for the first n - n % 4 floats; the caller finishes the tail. */
export function relu6GradWasm(
  cp: ChannelPasses,
  dy: Float32Array,
  x: Float32Array,
  hi: number,
): Float32Array {
  const vecs = x.length >> 2;
  const s = heapSession(cp.heapOf());
  const db = s.input(dy);
  const xb = s.input(x);
  const dx = s.output(x.length);
  runParts(
    'relu6Grad',
    rowParts(vecs, 4).map(([v0, v1]) => [
      (db + 4 * v0) * 4,
      (xb + 4 * v0) * 4,
      (dx.off + 4 * v0) * 4,
      v1 - v0,
      1,
      hi,
    ]),
    cp.raw,
  );
  s.done();
  return dx.array;
}
