/**
 * One WebAssembly memory per process that the SIMD modules (gemm-module.ts, channel-module.ts) and
 * the tensors of the fast kernels share. When the memory can be shared (SharedArrayBuffer, wasm
 * threads), kernel outputs are allocated in it (buffer-pool.ts's takeArray hands out views of it),
 * so the next kernel reads its input where it lies instead of copying it in and its output out,
 * and a worker thread (threads.ts) can work on the same data. A shared memory never detaches its
 * buffer when it grows, which is what makes long-lived views safe; without sharing the memory is
 * only a scratch arena, as before.
 *
 * Allocation is a bump pointer plus free lists by size (rounded to 64 bytes, one cache line): a
 * training loop repeats the same shapes, so blocks are reused exactly. The memory never shrinks;
 * when it is full, `alloc` returns -1 and callers fall back to ordinary arrays (tensors do so at
 * three quarters full, leaving room for the temporaries kernels then copy inputs into).
 */

import { buildModule, I32, op } from './wasm-asm.ts';

const PAGE_BYTES = 65536;
/** Byte addresses stay below 2^31, so they pass through i32 parameters unchanged. */
const MAX_PAGES = 32767;
const INITIAL_PAGES = 64;
/** The part of the memory tensors may fill; the rest stays for kernel temporaries and scratch. */
const TENSOR_SHARE = 0.75;
/** Floats per allocation unit: 64 bytes. */
const UNIT = 16;

export interface WasmMemory {
  buffer: ArrayBufferLike;
  grow(pages: number): number;
}

interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Memory: new (d: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: Record<string, unknown> };
}

export function wasmApi(): WasmApi | undefined {
  return (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
}

export interface WasmHeap {
  readonly memory: WasmMemory;
  /** True when the memory is shared: views stay valid across growth and other threads can use it. */
  readonly shared: boolean;
  /** The memory's maximum in pages, as shared module imports must declare it. */
  readonly maxPages: number;
  /** All of the memory as float32; fetch it again after any alloc (the memory may have grown). */
  f32(): Float32Array;
  /**
   * A 64-byte aligned block of n floats (offset in floats), or -1 when the memory is full. Tensors
   * (`forTensor`) get new memory only up to TENSOR_SHARE of the maximum, so kernels always have room
   * left for the temporaries they copy inputs into once tensors spill to ordinary arrays.
   */
  alloc(n: number, forTensor?: boolean): number;
  free(offset: number, n: number): void;
  /** A view of n floats at offset, valid as long as the block is (shared memories only). */
  view(offset: number, n: number): Float32Array;
  /** True when the array is a view of this memory. */
  contains(a: ArrayBufferView): boolean;
  /** The float offset of an array that lies in this memory, 16-byte aligned; else -1. */
  offsetOf(a: Float32Array): number;
  /** Sets n floats at offset to +0 (a bulk memory.fill, faster than a typed-array fill on shared memory). */
  zero(offset: number, n: number): void;
  /** Bytes handed out by the bump pointer so far (the high-water mark); for tests and benches. */
  usedBytes(): number;
}

function sharedMemory(wasm: WasmApi): WasmMemory | null {
  if (typeof SharedArrayBuffer !== 'function') return null;
  try {
    const m = new wasm.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES, shared: true });
    return m.buffer instanceof SharedArrayBuffer ? m : null;
  } catch {
    return null;
  }
}

/** zero(byteAddress, bytes) as memory.fill (bulk memory, opcode 0xFC 0x0B), or null. */
function zeroFunction(
  wasm: WasmApi,
  memory: WasmMemory,
  shared: boolean,
): ((at: number, bytes: number) => void) | null {
  const body = [...op.get(0), ...op.i32(0), ...op.get(1), 0xfc, 0x0b, 0x00];
  const bytes = buildModule(
    [{ name: 'zero', params: [I32, I32], locals: [], body }],
    shared ? { minPages: 1, sharedMaxPages: MAX_PAGES } : { minPages: 1 },
  );
  if (!wasm.validate(bytes)) return null;
  const ex = new wasm.Instance(new wasm.Module(bytes), { env: { memory } }).exports;
  return ex.zero as (at: number, bytes: number) => void;
}

export function createHeap(options: { shared?: boolean } = {}): WasmHeap | null {
  const wasm = wasmApi();
  if (wasm == null) return null;
  const sharedMem = options.shared === false ? null : sharedMemory(wasm);
  const memory = sharedMem ?? new wasm.Memory({ initial: 16 });
  const shared = sharedMem != null;
  const buffers = new WeakSet<ArrayBufferLike>();
  const fill = zeroFunction(wasm, memory, shared);
  let view = new Float32Array(memory.buffer);
  buffers.add(memory.buffer);
  let top = UNIT; // offset 0 stays unused
  const freeLists = new Map<number, number[]>();
  const ensure = (end: number) => {
    if (end <= view.length) return true;
    const pages = Math.ceil((end * 4 - view.byteLength) / PAGE_BYTES);
    if (view.byteLength / PAGE_BYTES + pages > MAX_PAGES) return false;
    memory.grow(pages);
    view = new Float32Array(memory.buffer);
    buffers.add(memory.buffer);
    return true;
  };
  return {
    memory,
    shared,
    maxPages: MAX_PAGES,
    f32: () => view,
    alloc(n, forTensor = false) {
      const size = Math.max(UNIT, Math.ceil(n / UNIT) * UNIT);
      const reuse = freeLists.get(size)?.pop();
      if (reuse != null) return reuse;
      if (forTensor && (top + size) * 4 > TENSOR_SHARE * MAX_PAGES * PAGE_BYTES) return -1;
      if (!ensure(top + size)) return -1;
      const off = top;
      top += size;
      return off;
    },
    free(offset, n) {
      const size = Math.max(UNIT, Math.ceil(n / UNIT) * UNIT);
      const list = freeLists.get(size);
      if (list == null) freeLists.set(size, [offset]);
      else list.push(offset);
    },
    view: (offset, n) => new Float32Array(view.buffer, offset * 4, n),
    contains: (a) => buffers.has(a.buffer),
    offsetOf: (a) => (buffers.has(a.buffer) && (a.byteOffset & 15) === 0 ? a.byteOffset >> 2 : -1),
    zero(offset, n) {
      if (fill != null) fill(offset * 4, n * 4);
      else view.fill(0, offset, offset + n);
    },
    usedBytes: () => top * 4,
  };
}

let heap: WasmHeap | null | undefined;

/** The process's heap, created on first use; null without WebAssembly. */
export function wasmHeap(): WasmHeap | null {
  if (heap === undefined) heap = createHeap();
  return heap;
}

/** The memory import a module instantiated on `h` must declare. */
export function memoryImportOf(h: WasmHeap): { minPages: number; sharedMaxPages?: number } {
  return h.shared ? { minPages: 1, sharedMaxPages: h.maxPages } : { minPages: 1 };
}
