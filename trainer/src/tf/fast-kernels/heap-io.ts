/**
 * How a SIMD kernel gets its tensors into the WebAssembly heap (wasm/heap.ts) and its results out:
 * an input that already lies in the heap (the output of an earlier kernel, see buffer-pool.ts) is
 * used where it is; anything else is copied into a temporary block. Outputs come from takeArray,
 * in the heap when it is shared, and are then written in place; otherwise the kernel writes a
 * temporary block that `done` copies out. One session per kernel call.
 */
import { takeArray } from './buffer-pool.ts';
import type { WasmHeap } from './wasm/heap.ts';

export interface HeapSession {
  /** A temporary block of n floats, freed by `done`. */
  temp(n: number): number;
  /** The heap offset holding a's values (a itself when it lies in the heap). */
  input(a: Float32Array): number;
  /** A kernel output of n floats (zeroed when asked) and the heap offset to write it at. */
  output(n: number, zero?: boolean): { array: Float32Array; off: number };
  /** Sets n floats at offset to +0. */
  zero(offset: number, n: number): void;
  /** All of the heap; fetch it after the last temp/input/output call (the memory may grow). */
  f32(): Float32Array;
  /** Copies outputs that live outside the heap and frees the temporaries. */
  done(): void;
}

export function heapSession(heap: WasmHeap): HeapSession {
  const temps: [number, number][] = [];
  const copies: [Float32Array, number][] = [];
  const temp = (n: number) => {
    const off = heap.alloc(n);
    if (off < 0) throw new Error(`edgeloop wasm heap full (a temporary of ${n} floats)`);
    temps.push([off, n]);
    return off;
  };
  return {
    temp,
    input(a) {
      const off = heap.offsetOf(a);
      if (off >= 0) return off;
      const t = temp(a.length);
      heap.f32().set(a, t);
      return t;
    },
    output(n, zero = false) {
      const array = takeArray(n, zero);
      const off = heap.offsetOf(array);
      if (off >= 0) return { array, off };
      const t = temp(n);
      if (zero) heap.zero(t, n);
      copies.push([array, t]);
      return { array, off: t };
    },
    zero: (offset, n) => heap.zero(offset, n),
    f32: () => heap.f32(),
    done() {
      const h = heap.f32();
      for (const [array, t] of copies) array.set(h.subarray(t, t + array.length));
      for (const [t, n] of temps) heap.free(t, n);
    },
  };
}
