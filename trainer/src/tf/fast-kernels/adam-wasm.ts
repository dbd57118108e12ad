/**
 * Adam's update (adam-patch.ts) on the WebAssembly SIMD `adam` pass of wasm/channel-module.ts: four
 * floats per instruction, each operation rounded to float32 as the JS loop rounds it, so the two
 * give the same bits; the pass reads the tensors where they lie in the heap (heap-io.ts) and big
 * variables are cut into ranges that run on the kernel threads.
 */
import { heapSession } from './heap-io.ts';
import type { ChannelPasses } from './wasm/channel-runtime.ts';
import { cut, partsFor, runParts } from './wasm/parallel.ts';

/** The float32 constants of one update, in the order the pass reads them. */
export interface AdamConstants {
  b1: number;
  b2: number;
  c1: number;
  c2: number;
  bc1: number;
  bc2: number;
  eps: number;
  step: number;
}

export interface AdamResult {
  value: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

/** The first n - n % 4 elements of the update; the caller computes the tail. */
export function adamWasm(
  cp: ChannelPasses,
  x: Float32Array,
  m: Float32Array,
  v: Float32Array,
  g: Float32Array,
  k: AdamConstants,
): AdamResult {
  const n = x.length;
  const s = heapSession(cp.heapOf());
  const [xo, mo, vo, go] = [x, m, v, g].map((a) => s.input(a));
  const consts = s.temp(32);
  const [nx, nm, nv] = [0, 1, 2].map(() => s.output(n));
  const heap = s.f32();
  const values = [k.b1, k.b2, k.c1, k.c2, k.bc1, k.bc2, k.eps, k.step];
  for (let i = 0; i < values.length; i++) heap.fill(values[i], consts + 4 * i, consts + 4 * i + 4);
  const vecs = n >> 2;
  runParts(
    'adam',
    cut(vecs, partsFor(n * 4)).map(([v0, v1]) => [
      ...[xo, mo, vo, go, nx.off, nm.off, nv.off].map((o) => (o + 4 * v0) * 4),
      consts * 4,
      v1 - v0,
      1,
    ]),
    cp.raw,
  );
  s.done();
  return { value: nx.array, m: nm.array, v: nv.array };
}
