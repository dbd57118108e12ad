/**
 * Runs the SIMD matrix product of gemm-module.ts on a WebAssembly memory used as a scratch arena:
 * callers reserve regions (in float32 elements), fill them through `heap()`, multiply, and copy
 * results out. Kernels are synchronous and never nest, so one arena serves them all.
 */
import { gemmModuleBytes } from './gemm-module.ts';

const PAGE_FLOATS = 65536 / 4;

export interface Gemm {
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
}

type GemmExport = (...args: number[]) => void;

/** The slice of the WebAssembly JS API used here (the project's TS lib has no WebAssembly types). */
interface WasmMemory {
  buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Memory: new (d: { initial: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: Record<string, unknown> };
}

function wasmApi(): WasmApi | undefined {
  return (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
}

/** The SIMD gemm, or null where WebAssembly SIMD is unavailable (callers keep their JS path). */
export function createGemm(): Gemm | null {
  const bytes = gemmModuleBytes(1);
  const wasm = wasmApi();
  if (wasm == null || !wasm.validate(bytes)) return null;
  const memory = new wasm.Memory({ initial: 16 });
  const instance = new wasm.Instance(new wasm.Module(bytes), { env: { memory } });
  const run = instance.exports.gemm as GemmExport;
  const runMac = instance.exports.mac as GemmExport;
  let view = new Float32Array(memory.buffer);
  return {
    reserve(sizes) {
      const offsets: number[] = [];
      let end = 0;
      for (const s of sizes) {
        offsets.push(end);
        end += (s + 3) & ~3; // keep every region 16-byte aligned
      }
      if (end > view.length) {
        memory.grow(Math.ceil((end - view.length) / PAGE_FLOATS));
        view = new Float32Array(memory.buffer);
      }
      return offsets;
    },
    heap: () => view,
    gemm(a, sai, sak, b, ldb, c, ldc, m, n, len) {
      run(a * 4, sai * 4, sak * 4, b * 4, ldb * 4, c * 4, ldc * 4, m, n, len);
    },
    mac(out, outStep, p, pStep, q, qStep, count, width) {
      runMac(out * 4, outStep * 4, p * 4, pStep * 4, q * 4, qStep * 4, count, width >> 2);
    },
  };
}
