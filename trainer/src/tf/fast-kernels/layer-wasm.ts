/**
 * The fused batch-norm and ReLU6 passes of layer-kernels.ts on the WebAssembly SIMD channel passes
 * (wasm/channel-module.ts), four channels per instruction. Batch norm needs a channel count that is
 * a multiple of 4 (every MobileNet layer has one); ReLU6 does any length, the last n % 4 floats in
 * JS. Per-channel sums are float32 within blocks of BLOCK rows and doubles across blocks, so they
 * stay as accurate as the JS loops' double sums for practical purposes. Tensors are read and written
 * where they lie in the WebAssembly heap (heap-io.ts), so only the passes touch the activations.
 */
import { heapSession } from './heap-io.ts';
import { type ChannelPasses, createChannelPasses } from './wasm/channel-runtime.ts';

const BLOCK = 256;

let shared: ChannelPasses | null | undefined;

/** One module and arena per process, compiled on first use; null without WebAssembly SIMD. */
export function channelPasses(): ChannelPasses | null {
  if (shared === undefined) shared = createChannelPasses();
  return shared;
}

/** Per-channel double sums of `run`'s float32 partials over blocks of rows. */
function blockSums(
  cp: ChannelPasses,
  rows: number,
  c: number,
  accs: number[],
  run: (row: number, n: number) => void,
): Float64Array[] {
  const out = accs.map(() => new Float64Array(c));
  const heap = cp.heap();
  for (let r0 = 0; r0 < rows; r0 += BLOCK) {
    for (const a of accs) heap.fill(0, a, a + c);
    run(r0, Math.min(BLOCK, rows - r0));
    for (let j = 0; j < accs.length; j++) {
      const o = out[j];
      const a = accs[j];
      for (let k = 0; k < c; k++) o[k] += heap[a + k];
    }
  }
  return out;
}

export interface BnForward {
  y: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
}

export function bnForwardWasm(
  cp: ChannelPasses,
  xv: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  eps: number,
): BnForward {
  const c = gamma.length;
  const n = xv.length;
  const rows = n / c;
  const s = heapSession(cp.heapOf());
  const xb = s.input(xv);
  const mb = s.temp(c);
  const mulb = s.temp(c);
  const bb = s.temp(c);
  const acc = s.temp(c);
  const y = s.output(n);
  const heap = s.f32();
  const [sum] = blockSums(cp, rows, c, [acc], (r, k) => cp.colSum(xb + r * c, acc, k, c));
  const mean = new Float32Array(c);
  for (let k = 0; k < c; k++) mean[k] = sum[k] / rows;
  heap.set(mean, mb);
  // Two passes (mean, then squared deviations) as tf.moments, so a large mean cannot cancel.
  const [sq] = blockSums(cp, rows, c, [acc], (r, k) => cp.colSqDev(xb + r * c, mb, acc, k, c));
  const variance = new Float32Array(c);
  for (let k = 0; k < c; k++) {
    variance[k] = sq[k] / rows;
    heap[mulb + k] = gamma[k] / Math.sqrt(Math.fround(variance[k] + eps));
  }
  heap.set(beta, bb);
  cp.bnApply(xb, y.off, mb, mulb, bb, rows, c);
  s.done();
  return { y: y.array, mean, variance };
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
  const n = xv.length;
  const rows = n / c;
  const s = heapSession(cp.heapOf());
  const db = s.input(dy);
  const xb = s.input(xv);
  const [mb, ab, bb, sb, s1, s2] = [0, 0, 0, 0, 0, 0].map(() => s.temp(c));
  const dx = s.output(n);
  const heap = s.f32();
  heap.set(mean, mb);
  const [sumDy, sumDyXhat] = blockSums(cp, rows, c, [s1, s2], (r, k) =>
    cp.colGradSums(db + r * c, xb + r * c, mb, s1, s2, k, c),
  );
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
  cp.bnGrad(db, xb, dx.off, mb, ab, bb, sb, rows, c);
  s.done();
  return { dx: dx.array, dGamma, dBeta };
}

/** min(max(x, 0), hi) for the first n - n % 4 floats; the caller finishes the tail. */
export function relu6Wasm(cp: ChannelPasses, x: Float32Array, hi: number): Float32Array {
  const n = x.length;
  const s = heapSession(cp.heapOf());
  const xb = s.input(x);
  const y = s.output(n);
  cp.relu6(xb, y.off, n & ~3, hi);
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
  const n = x.length;
  const s = heapSession(cp.heapOf());
  const db = s.input(dy);
  const xb = s.input(x);
  const dx = s.output(n);
  cp.relu6Grad(db, xb, dx.off, n & ~3, hi);
  s.done();
  return dx.array;
}
