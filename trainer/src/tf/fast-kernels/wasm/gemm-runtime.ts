/**
 * Runs the SIMD matrix product of gemm-module.ts on the process's WebAssembly heap (heap.ts). Kernels
 * either pass the heap offsets of tensors that already lie there (heap-io.ts) or `reserve` regions
 * of a scratch block, fill them through `heap()`, multiply and copy results out. Kernels are
 * synchronous and never nest, so one scratch block serves them all. `raw` and `module` let
 * threads.ts run the same exports on worker threads.
 */
import { gemmModuleBytes } from './gemm-module.ts';
import { memoryImportOf, type WasmHeap, wasmApi, wasmHeap } from './heap.ts';

export interface Gemm {
  heapOf(): WasmHeap;
  /** The compiled module, for worker threads that instantiate it on the same memory. */
  module: object;
  /** The module's exports as called from JS (byte addresses), for threads.ts. */
  raw: Record<string, RawExport>;
  /** Makes room for regions of the given sizes (float32 elements); returns their offsets. */
  reserve(sizes: number[]): number[];
  /** The arena as float32; valid until the next reserve. */
  heap(): Float32Array;
  /**
   * C[i][j] += sum_k A(i, k) * B[k][j] for i < m, j < n, k < len, where A(i, k) = heap[a + i*sai
   * + k*sak] and B, C are row-major at offsets b, c with row strides ldb, ldc. n must be a
   * multiple of 4; b, c, ldb and ldc multiples of 4 (16-byte vectors).
   */
  gemm(
    a: number,
    sai: number,
    sak: number,
    b: number,
    ldb: number,
    c: number,
    ldc: number,
    m: number,
    n: number,
    len: number,
    overwrite?: boolean,
  ): void;
  /**
   * For i < count: heap[out + i*outStep + d] += heap[p + i*pStep + d] * heap[q + i*qStep + d] for
   * d < width; width and every offset and step a multiple of 4.
   */
  mac(
    out: number,
    outStep: number,
    p: number,
    pStep: number,
    q: number,
    qStep: number,
    count: number,
    width: number,
  ): void;
  /**
   * Runs `count` mac calls whose arguments (byte addresses and strides, 8 int32 each) lie in the
   * heap at float offset `list`, with float offsets outBase, pBase, qBase added to out, p and q.
   */
  macList(list: number, count: number, outBase: number, pBase: number, qBase: number): void;
}

export type RawExport = (...args: number[]) => void;
type GemmExport = RawExport;

/** A grow-only scratch block in the heap for `reserve` (kernels are synchronous and never nest). */
export function scratchOf(heap: WasmHeap): (sizes: number[]) => number[] {
  let base = -1;
  let capacity = 0;
  return (sizes) => {
    let end = 0;
    const rel: number[] = [];
    for (const s of sizes) {
      rel.push(end);
      end += (s + 15) & ~15; // keep every region 64-byte aligned
    }
    if (end > capacity) {
      if (base >= 0) heap.free(base, capacity);
      capacity = Math.max(end, capacity * 2);
      base = heap.alloc(capacity);
      if (base < 0) throw new Error(`edgeloop wasm heap full (scratch of ${capacity} floats)`);
    }
    return rel.map((r) => base + r);
  };
}

let shared: Gemm | null | undefined;

/**
 * The SIMD gemm on the process's heap (heap.ts), or null where WebAssembly SIMD is unavailable
 * (callers keep their JS path). One instance per process.
 */
export function createGemm(): Gemm | null {
  if (shared !== undefined) return shared;
  shared = null;
  const heap = wasmHeap();
  const wasm = wasmApi();
  if (heap == null || wasm == null) return null;
  const bytes = gemmModuleBytes(memoryImportOf(heap));
  if (!wasm.validate(bytes)) return null;
  const module = new wasm.Module(bytes);
  const instance = new wasm.Instance(module, { env: { memory: heap.memory } });
  const run = instance.exports.gemm as GemmExport;
  const run0 = instance.exports.gemm0 as GemmExport;
  const runMac = instance.exports.mac as GemmExport;
  const runMacList = instance.exports.macList as GemmExport;
  shared = {
    heapOf: () => heap,
    module,
    raw: instance.exports as Record<string, RawExport>,
    reserve: scratchOf(heap),
    heap: () => heap.f32(),
    gemm(a, sai, sak, b, ldb, c, ldc, m, n, len, overwrite = false) {
      (overwrite ? run0 : run)(a * 4, sai * 4, sak * 4, b * 4, ldb * 4, c * 4, ldc * 4, m, n, len);
    },
    mac(out, outStep, p, pStep, q, qStep, count, width) {
      runMac(out * 4, outStep * 4, p * 4, pStep * 4, q * 4, qStep * 4, count, width >> 2);
    },
    macList(list, count, outBase, pBase, qBase) {
      runMacList(list * 4, count, outBase * 4, pBase * 4, qBase * 4);
    },
  };
  return shared;
}
