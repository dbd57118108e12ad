/**
 * Runs channel-module.ts on the process's WebAssembly heap (heap.ts), as gemm-runtime.ts does for
 * the matrix product: kernels pass heap offsets of tensors (heap-io.ts) or of `reserve`d scratch
 * regions. The wrappers take float offsets; `raw` (byte addresses) is what threads.ts runs.
 */
import { channelModuleBytes } from './channel-module.ts';
import { type RawExport, scratchOf } from './gemm-runtime.ts';
import { memoryImportOf, type WasmHeap, wasmApi, wasmHeap } from './heap.ts';

type Pass = (...args: number[]) => void;

export interface ChannelPasses {
  /** The compiled module, for worker threads that instantiate it on the same memory. */
  module: object;
  /** The module's exports as called from JS (byte addresses), for threads.ts. */
  raw: Record<string, RawExport>;
  heapOf(): WasmHeap;
  reserve(sizes: number[]): number[];
  heap(): Float32Array;
  /** Offsets in float32 elements, rows of `c` channels (c a multiple of 4). */
  colSum(x: number, acc: number, rows: number, c: number): void;
  colSqDev(x: number, mean: number, acc: number, rows: number, c: number): void;
  colGradSums(dy: number, x: number, mean: number, s1: number, s2: number, rows: number, c: number): void;
  bnApply(x: number, y: number, mean: number, mul: number, beta: number, rows: number, c: number): void;
  bnGrad(
    dy: number,
    x: number,
    dx: number,
    mean: number,
    a: number,
    b: number,
    s: number,
    rows: number,
    c: number,
  ): void;
  /** Over the first `n` floats, n a multiple of 4. */
  relu6(x: number, y: number, n: number, hi: number): void;
  relu6Grad(dy: number, x: number, dx: number, n: number, hi: number): void;
}

let shared: ChannelPasses | null | undefined;

/**
 * The passes on the process's heap (heap.ts), or null where WebAssembly SIMD is unavailable. One
 * instance per process.
 */
export function createChannelPasses(): ChannelPasses | null {
  if (shared === undefined) shared = instantiate();
  return shared;
}

function instantiate(): ChannelPasses | null {
  const heap = wasmHeap();
  const wasm = wasmApi();
  if (heap == null || wasm == null) return null;
  const bytes = channelModuleBytes(memoryImportOf(heap));
  if (!wasm.validate(bytes)) return null;
  const module = new wasm.Module(bytes);
  const ex = new wasm.Instance(module, { env: { memory: heap.memory } }).exports as Record<string, Pass>;
  const b = (off: number) => off * 4;
  return {
    module,
    raw: ex,
    heapOf: () => heap,
    reserve: scratchOf(heap),
    heap: () => heap.f32(),
    colSum: (x, acc, rows, c) => ex.colSum(b(x), b(acc), rows, c >> 2),
    colSqDev: (x, mean, acc, rows, c) => ex.colSqDev(b(x), b(mean), b(acc), rows, c >> 2),
    colGradSums: (dy, x, mean, s1, s2, rows, c) =>
      ex.colGradSums(b(dy), b(x), b(mean), b(s1), b(s2), rows, c >> 2),
    bnApply: (x, y, mean, mul, beta, rows, c) =>
      ex.bnApply(b(x), b(y), b(mean), b(mul), b(beta), rows, c >> 2),
    bnGrad: (dy, x, dx, mean, a, bb, s, rows, c) =>
      ex.bnGrad(b(dy), b(x), b(dx), b(mean), b(a), b(bb), b(s), rows, c >> 2),
    relu6: (x, y, n, hi) => ex.relu6(b(x), b(y), n >> 2, 1, hi),
    relu6Grad: (dy, x, dx, n, hi) => ex.relu6Grad(b(dy), b(x), b(dx), n >> 2, 1, hi),
  };
}
