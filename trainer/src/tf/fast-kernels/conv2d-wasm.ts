/**
 * NHWC 2-D convolution and its gradients as matrix products on the WebAssembly SIMD gemm, with the
 * same patch-matrix formulation as conv2d-math.ts (P [M, K] patches, W [K, outC]):
 *   forward Y = P W, filter grad dW = P^T dY (P^T read through strides, not copied),
 *   input grad dP = dY W^T then col2im.
 * Pixels go through in chunks so the arena stays cache-sized; the filter gradient adds each
 * chunk's float32 partial product into doubles, so long reductions do not drift.
 */
import { takeArray } from './buffer-pool.ts';
import { packedApplies, packedFilterGrad, packedForward } from './conv2d-patches-wasm.ts';
import { heapSession } from './heap-io.ts';
import { type ConvGeometry, packPatches } from './im2col.ts';
import type { Gemm } from './wasm/gemm-runtime.ts';
import { cut, partsFor, runParts } from './wasm/parallel.ts';

const ROWS = 256;
const FILTER_GRAD_ROWS = 1024;
const roundUp4 = (v: number) => (v + 3) & ~3;

const GEMM_ARGS = 10;

/** The raw arguments of the gemm exports (byte addresses and strides) for float offsets. */
function gemmArgs(
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
): number[] {
  return [a * 4, sai * 4, sak * 4, b * 4, ldb * 4, c * 4, ldc * 4, m, n, len];
}

function isPointwise(g: ConvGeometry): boolean {
  return g.fh === 1 && g.fw === 1 && g.sh === 1 && g.sw === 1 && g.padTop === 0 && g.padLeft === 0;
}

/** heap[dst + r*ldDst + j] = src[srcOff + r*cols + j], zero for cols <= j < ldDst. */
function copyRowsPadded(
  src: Float32Array,
  srcOff: number,
  rows: number,
  cols: number,
  heap: Float32Array,
  dst: number,
  ldDst: number,
): void {
  if (ldDst === cols) {
    heap.set(src.subarray(srcOff, srcOff + rows * cols), dst);
    return;
  }
  for (let r = 0; r < rows; r++) {
    const d = dst + r * ldDst;
    const s = srcOff + r * cols;
    for (let j = 0; j < cols; j++) heap[d + j] = src[s + j];
    for (let j = cols; j < ldDst; j++) heap[d + j] = 0;
  }
}

/** out[outOff + r*cols + j] = heap[src + r*ldSrc + j]. */
function copyRowsOut(
  heap: Float32Array,
  src: number,
  ldSrc: number,
  rows: number,
  cols: number,
  out: Float32Array,
  outOff: number,
): void {
  if (ldSrc === cols) {
    out.set(heap.subarray(src, src + rows * cols), outOff);
    return;
  }
  for (let r = 0; r < rows; r++) {
    const s = src + r * ldSrc;
    const o = outOff + r * cols;
    for (let j = 0; j < cols; j++) out[o + j] = heap[s + j];
  }
}

/**
 * A 1x1 convolution whose channel counts are multiples of 4: one product straight on the tensors in
 * the heap, Y = X W, no chunks or copies (X [M, inC] is the patch matrix itself).
 */
function pointwiseForward(gm: Gemm, x: Float32Array, filter: Float32Array, g: ConvGeometry): Float32Array {
  const s = heapSession(gm.heapOf());
  const { inC, outC } = g;
  const m = g.batch * g.outH * g.outW;
  const xo = s.input(x);
  const wo = s.input(filter);
  const y = s.output(m * outC);
  rowSplitProduct(gm, xo, wo, y.off, m, inC, outC);
  s.done();
  return y.array;
}

/** C (m×n) = A (m×k) B (k×n), heap float offsets, row-major, rows split between the threads. */
function rowSplitProduct(gm: Gemm, a: number, b: number, c: number, m: number, k: number, n: number): void {
  const parts = cut(m, partsFor(m * k * n), 4);
  runParts(
    'gemm0',
    parts.map(([r0, r1]) => gemmArgs(a + r0 * k, k, 1, b, n, c + r0 * n, n, r1 - r0, n, k)),
    gm.raw,
  );
}

/** dX = dY W^T for a 1x1 convolution, W^T built once in a temporary block. */
function pointwiseInputGrad(gm: Gemm, dy: Float32Array, filter: Float32Array, g: ConvGeometry): Float32Array {
  const s = heapSession(gm.heapOf());
  const { inC, outC } = g;
  const m = g.batch * g.outH * g.outW;
  const dyo = s.input(dy);
  const wt = s.temp(inC * outC);
  const dx = s.output(m * inC);
  const h = s.f32();
  for (let k = 0; k < inC; k++) for (let j = 0; j < outC; j++) h[wt + j * inC + k] = filter[k * outC + j];
  rowSplitProduct(gm, dyo, wt, dx.off, m, outC, inC);
  s.done();
  return dx.array;
}

/**
 * dW = X^T dY for a 1x1 convolution, read in place: chunks of FILTER_GRAD_ROWS pixels are summed
 * in float32 by the SIMD product and across chunks in doubles.
 */
function pointwiseFilterGrad(gm: Gemm, x: Float32Array, dy: Float32Array, g: ConvGeometry): Float32Array {
  const s = heapSession(gm.heapOf());
  const { inC, outC } = g;
  const m = g.batch * g.outH * g.outW;
  const xo = s.input(x);
  const dyo = s.input(dy);
  const chunks = Math.ceil(m / FILTER_GRAD_ROWS);
  const parts = s.temp(chunks * inC * outC);
  // One gemm0 call per chunk, written as records so threads can take ranges of chunks.
  const list = s.temp(chunks * GEMM_ARGS);
  const records = new Int32Array(s.f32().buffer, list * 4, chunks * GEMM_ARGS);
  for (let i = 0; i < chunks; i++) {
    const m0 = i * FILTER_GRAD_ROWS;
    const len = Math.min(FILTER_GRAD_ROWS, m - m0);
    const args = gemmArgs(
      xo + m0 * inC,
      1,
      inC,
      dyo + m0 * outC,
      outC,
      parts + i * inC * outC,
      outC,
      inC,
      outC,
      len,
    );
    records.set(args, i * GEMM_ARGS);
  }
  const ranges = cut(chunks, partsFor(m * inC * outC));
  runParts(
    'gemm0List',
    ranges.map(([c0, c1]) => [(list + c0 * GEMM_ARGS) * 4, c1 - c0]),
    gm.raw,
  );
  const h = s.f32();
  const size = inC * outC;
  const acc = new Float64Array(size);
  for (let i = 0; i < chunks; i++) {
    const p = parts + i * size;
    for (let k = 0; k < size; k++) acc[k] += h[p + k];
  }
  s.done();
  return Float32Array.from(acc);
}

/**
 * `keepFor` (the input's data id, while a gradient is being recorded) lets the whole-batch path
 * keep its patch matrix for conv2dFilterGradWasm of the same input.
 */
export function conv2dForwardWasm(
  gm: Gemm,
  x: Float32Array,
  filter: Float32Array,
  g: ConvGeometry,
  keepFor: object | null = null,
): Float32Array {
  if (isPointwise(g) && g.inC % 4 === 0 && g.outC % 4 === 0) return pointwiseForward(gm, x, filter, g);
  if (!isPointwise(g) && packedApplies(g)) {
    const y = packedForward(gm, x, filter, g, keepFor);
    if (y != null) return y;
  }
  const kSize = g.fh * g.fw * g.inC;
  const n = g.outC;
  const n4 = roundUp4(n);
  const m = g.batch * g.outH * g.outW;
  const y = takeArray(m * n); // every element written below
  const [b, a, c] = gm.reserve([kSize * n4, ROWS * kSize, ROWS * n4]);
  const heap = gm.heap();
  copyRowsPadded(filter, 0, kSize, n, heap, b, n4);
  const direct = isPointwise(g);
  for (let m0 = 0; m0 < m; m0 += ROWS) {
    const len = Math.min(ROWS, m - m0);
    if (direct) heap.set(x.subarray(m0 * kSize, (m0 + len) * kSize), a);
    else packPatches(x, g, m0, len, heap.subarray(a, a + len * kSize));
    gm.gemm(a, kSize, 1, b, n4, c, n4, len, n4, kSize, true);
    copyRowsOut(heap, c, n4, len, n, y, m0 * n);
  }
  return y;
}

/** `key`: the input's data id, to find a patch matrix its forward kept. */
export function conv2dFilterGradWasm(
  gm: Gemm,
  x: Float32Array,
  dy: Float32Array,
  g: ConvGeometry,
  key: object | null = null,
): Float32Array {
  if (isPointwise(g) && g.inC % 4 === 0 && g.outC % 4 === 0) return pointwiseFilterGrad(gm, x, dy, g);
  if (!isPointwise(g) && packedApplies(g) && key != null) {
    const dw = packedFilterGrad(gm, x, dy, g, key);
    if (dw != null) return dw;
  }
  const kSize = g.fh * g.fw * g.inC;
  const n = g.outC;
  const n4 = roundUp4(n);
  const m = g.batch * g.outH * g.outW;
  const [a, b, c] = gm.reserve([FILTER_GRAD_ROWS * kSize, FILTER_GRAD_ROWS * n4, kSize * n4]);
  const heap = gm.heap();
  const direct = isPointwise(g);
  const acc = new Float64Array(kSize * n);
  for (let m0 = 0; m0 < m; m0 += FILTER_GRAD_ROWS) {
    const len = Math.min(FILTER_GRAD_ROWS, m - m0);
    if (direct) heap.set(x.subarray(m0 * kSize, (m0 + len) * kSize), a);
    else packPatches(x, g, m0, len, heap.subarray(a, a + len * kSize));
    copyRowsPadded(dy, m0 * n, len, n, heap, b, n4);
    // Row i of P^T is column i of P: stride 1 between rows, kSize between reduction steps.
    gm.gemm(a, 1, kSize, b, n4, c, n4, kSize, n4, len, true);
    for (let k = 0; k < kSize; k++) {
      const s = c + k * n4;
      const o = k * n;
      for (let j = 0; j < n; j++) acc[o + j] += heap[s + j];
    }
  }
  return Float32Array.from(acc);
}

export function conv2dInputGradWasm(
  gm: Gemm,
  dy: Float32Array,
  filter: Float32Array,
  g: ConvGeometry,
): Float32Array {
  if (isPointwise(g) && g.inC % 4 === 0 && g.outC % 4 === 0) return pointwiseInputGrad(gm, dy, filter, g);
  const kSize = g.fh * g.fw * g.inC;
  const k4 = roundUp4(kSize);
  const n = g.outC;
  const m = g.batch * g.outH * g.outW;
  const [b, a, c] = gm.reserve([n * k4, ROWS * n, ROWS * k4]);
  const heap = gm.heap();
  // B = W^T [outC, K], rows padded to k4.
  heap.fill(0, b, b + n * k4);
  for (let k = 0; k < kSize; k++) {
    for (let j = 0; j < n; j++) heap[b + j * k4 + k] = filter[k * n + j];
  }
  const direct = isPointwise(g);
  // The scatter adds into dx, the direct copy writes every element.
  const dx = takeArray(g.batch * g.inH * g.inW * g.inC, !direct);
  for (let m0 = 0; m0 < m; m0 += ROWS) {
    const len = Math.min(ROWS, m - m0);
    heap.set(dy.subarray(m0 * n, (m0 + len) * n), a);
    gm.gemm(a, n, 1, b, k4, c, k4, len, k4, n, true);
    if (direct) copyRowsOut(heap, c, k4, len, kSize, dx, m0 * kSize);
    else scatterRows(heap, c, k4, g, m0, len, dx);
  }
  return dx;
}

/** col2im: dx[tap input] += heap[c + mm*ld + k] for rows m0..m0+len; taps in the padding are dropped. */
function scatterRows(
  heap: Float32Array,
  c: number,
  ld: number,
  g: ConvGeometry,
  m0: number,
  len: number,
  dx: Float32Array,
): void {
  const { inC, fh, fw, outH, outW, sh, sw, dh, dw, padTop, padLeft, inH, inW } = g;
  for (let mm = 0; mm < len; mm++) {
    const m = m0 + mm;
    const ox = m % outW;
    const rest = (m - ox) / outW;
    const oy = rest % outH;
    const bIdx = (rest - oy) / outH;
    let o = c + mm * ld;
    for (let r = 0; r < fh; r++) {
      const iy = oy * sh - padTop + r * dh;
      for (let cc = 0; cc < fw; cc++) {
        const ix = ox * sw - padLeft + cc * dw;
        if (iy >= 0 && iy < inH && ix >= 0 && ix < inW) {
          const dst = ((bIdx * inH + iy) * inW + ix) * inC;
          for (let ci = 0; ci < inC; ci++) dx[dst + ci] += heap[o + ci];
        }
        o += inC;
      }
    }
  }
}
