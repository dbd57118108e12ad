/**
 * A (non-1x1) convolution whose output channels are a multiple of 4, as whole-batch products on
 * the kernel threads: the patch matrix P [M, K] is gathered once into the WebAssembly heap, then
 * Y = P W runs as one row-split product and dW = P^T dY as per-chunk products. A network's first
 * convolution (3x3 over the image) is the case: before, its 256- and 1024-row chunks ran on the
 * calling thread only, and the filter gradient gathered the same patches again. Here the forward
 * keeps P for the filter gradient of the same input tensor (matched by its data id, which tfjs
 * never reuses for other values) while a gradient is being recorded; the gradient frees it.
 * Same products and chunk sums as conv2d-wasm.ts's chunked path, so the same bits.
 */
import { heapSession } from './heap-io.ts';
import { type ConvGeometry, packPatches } from './im2col.ts';
import type { Gemm } from './wasm/gemm-runtime.ts';
import type { WasmHeap } from './wasm/heap.ts';
import { cut, partsFor, runParts } from './wasm/parallel.ts';

/** Chunk of the filter gradient's float32 partial sums (conv2d-wasm.ts's FILTER_GRAD_ROWS). */
const FILTER_GRAD_ROWS = 1024;
/** Largest patch matrix gathered whole (64 MB); bigger ones take the chunked path. */
const MAX_PATCH_FLOATS = 16 << 20;
const GEMM_ARGS = 10;

interface Kept {
  key: object;
  geometry: string;
  off: number;
  size: number;
}

/** The patch matrix the last forward kept for a filter gradient, per heap. */
const kept = new WeakMap<WasmHeap, Kept>();

function sizes(g: ConvGeometry): { m: number; kSize: number } {
  return { m: g.batch * g.outH * g.outW, kSize: g.fh * g.fw * g.inC };
}

/** Whether the whole-batch path takes this convolution. */
export function packedApplies(g: ConvGeometry): boolean {
  const { m, kSize } = sizes(g);
  return g.outC % 4 === 0 && m * kSize <= MAX_PATCH_FLOATS;
}

function release(heap: WasmHeap): void {
  const k = kept.get(heap);
  if (k == null) return;
  kept.delete(heap);
  heap.free(k.off, k.size);
}

/** P gathered into a fresh heap block, or -1 when the heap is full. */
function gather(heap: WasmHeap, x: Float32Array, g: ConvGeometry): number {
  const { m, kSize } = sizes(g);
  const off = heap.alloc(m * kSize);
  if (off >= 0) packPatches(x, g, 0, m, heap.f32().subarray(off, off + m * kSize));
  return off;
}

/**
 * Y = P W; keeps P for the filter gradient when `keepFor` (the input's data id) is given. Null when
 * the heap cannot hold P (the caller takes the chunked path).
 */
export function packedForward(
  gm: Gemm,
  x: Float32Array,
  filter: Float32Array,
  g: ConvGeometry,
  keepFor: object | null,
): Float32Array | null {
  const heap = gm.heapOf();
  release(heap);
  const { m, kSize } = sizes(g);
  const n = g.outC;
  const p = gather(heap, x, g);
  if (p < 0) return null;
  const s = heapSession(heap);
  const w = s.input(filter);
  const y = s.output(m * n);
  runParts(
    'gemm0',
    cut(m, partsFor(m * kSize * n), 4).map(([r0, r1]) =>
      [p + r0 * kSize, kSize, 1, w, n, y.off + r0 * n, n].map((v) => v * 4).concat([r1 - r0, n, kSize]),
    ),
    gm.raw,
  );
  s.done();
  if (keepFor != null) kept.set(heap, { key: keepFor, geometry: JSON.stringify(g), off: p, size: m * kSize });
  else heap.free(p, m * kSize);
  return y.array;
}

/**
 * dW = P^T dY in FILTER_GRAD_ROWS chunks (float32 partial products, summed in doubles), with the
 * kept P of input `key` when the forward left it, else a fresh one. Null when the heap is full.
 */
export function packedFilterGrad(
  gm: Gemm,
  x: Float32Array,
  dy: Float32Array,
  g: ConvGeometry,
  key: object,
): Float32Array | null {
  const heap = gm.heapOf();
  const { m, kSize } = sizes(g);
  const n = g.outC;
  const k = kept.get(heap);
  let p = -1;
  if (k != null && k.key === key && k.geometry === JSON.stringify(g)) {
    kept.delete(heap);
    p = k.off;
  } else p = gather(heap, x, g);
  if (p < 0) return null;
  const s = heapSession(heap);
  const dyo = s.input(dy);
  const chunks = Math.ceil(m / FILTER_GRAD_ROWS);
  const size = kSize * n;
  const parts = s.temp(chunks * size);
  const list = s.temp(chunks * GEMM_ARGS);
  const records = new Int32Array(s.f32().buffer, list * 4, chunks * GEMM_ARGS);
  for (let i = 0; i < chunks; i++) {
    const m0 = i * FILTER_GRAD_ROWS;
    const len = Math.min(FILTER_GRAD_ROWS, m - m0);
    // Row i of P^T is column i of P: stride 1 between rows, kSize between reduction steps.
    const args = [p + m0 * kSize, 1, kSize, dyo + m0 * n, n, parts + i * size, n].map((v) => v * 4);
    records.set([...args, kSize, n, len], i * GEMM_ARGS);
  }
  runParts(
    'gemm0List',
    cut(chunks, partsFor(m * size)).map(([c0, c1]) => [(list + c0 * GEMM_ARGS) * 4, c1 - c0]),
    gm.raw,
  );
  const h = s.f32();
  const acc = new Float64Array(size);
  for (let i = 0; i < chunks; i++) {
    const o = parts + i * size;
    for (let j = 0; j < size; j++) acc[j] += h[o + j];
  }
  s.done();
  heap.free(p, m * kSize);
  return Float32Array.from(acc);
}
