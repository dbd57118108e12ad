/**
 * Matrix products on Float32Array for the fast CPU kernels. Pure functions, no tfjs.
 *
 * The one core is C += A * B^T where both operands are read along their contiguous reduction axis:
 * a 4x4 register tile keeps 16 dot products in locals, so each inner iteration does 8 loads for 16
 * multiply-adds. V8 does not vectorise, so the tile (not SIMD) is what beats the textbook i-k-j loop.
 * Dot products are accumulated in doubles, so results are as close to the stock kernels (which also
 * sum in doubles) as a different summation order allows. A and B are always Float32Array and C
 * always Float64Array so the JIT sees one element kind per load site.
 */

/**
 * C[cOff + i*ldc + j] += sum_{k<len} A[aOff + i*lda + k] * B[bOff + j*ldb + k], for i < m, j < n.
 */
export function matmulABtAcc(
  a: Float32Array,
  aOff: number,
  lda: number,
  b: Float32Array,
  bOff: number,
  ldb: number,
  m: number,
  n: number,
  len: number,
  c: Float64Array,
  cOff: number,
  ldc: number,
): void {
  const m4 = m - (m % 4);
  const n4 = n - (n % 4);
  for (let i = 0; i < m4; i += 4) {
    const a0 = aOff + i * lda;
    const a1 = a0 + lda;
    const a2 = a1 + lda;
    const a3 = a2 + lda;
    for (let j = 0; j < n4; j += 4) {
      const b0 = bOff + j * ldb;
      const b1 = b0 + ldb;
      const b2 = b1 + ldb;
      const b3 = b2 + ldb;
      let s00 = 0,
        s01 = 0,
        s02 = 0,
        s03 = 0,
        s10 = 0,
        s11 = 0,
        s12 = 0,
        s13 = 0;
      let s20 = 0,
        s21 = 0,
        s22 = 0,
        s23 = 0,
        s30 = 0,
        s31 = 0,
        s32 = 0,
        s33 = 0;
      for (let k = 0; k < len; k++) {
        const x0 = a[a0 + k];
        const x1 = a[a1 + k];
        const x2 = a[a2 + k];
        const x3 = a[a3 + k];
        const y0 = b[b0 + k];
        const y1 = b[b1 + k];
        const y2 = b[b2 + k];
        const y3 = b[b3 + k];
        s00 += x0 * y0;
        s01 += x0 * y1;
        s02 += x0 * y2;
        s03 += x0 * y3;
        s10 += x1 * y0;
        s11 += x1 * y1;
        s12 += x1 * y2;
        s13 += x1 * y3;
        s20 += x2 * y0;
        s21 += x2 * y1;
        s22 += x2 * y2;
        s23 += x2 * y3;
        s30 += x3 * y0;
        s31 += x3 * y1;
        s32 += x3 * y2;
        s33 += x3 * y3;
      }
      let o = cOff + i * ldc + j;
      c[o] += s00;
      c[o + 1] += s01;
      c[o + 2] += s02;
      c[o + 3] += s03;
      o += ldc;
      c[o] += s10;
      c[o + 1] += s11;
      c[o + 2] += s12;
      c[o + 3] += s13;
      o += ldc;
      c[o] += s20;
      c[o + 1] += s21;
      c[o + 2] += s22;
      c[o + 3] += s23;
      o += ldc;
      c[o] += s30;
      c[o + 1] += s31;
      c[o + 2] += s32;
      c[o + 3] += s33;
    }
    for (let j = n4; j < n; j++) {
      const b0 = bOff + j * ldb;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = 0; k < len; k++) {
        const y = b[b0 + k];
        s0 += a[a0 + k] * y;
        s1 += a[a1 + k] * y;
        s2 += a[a2 + k] * y;
        s3 += a[a3 + k] * y;
      }
      const o = cOff + i * ldc + j;
      c[o] += s0;
      c[o + ldc] += s1;
      c[o + 2 * ldc] += s2;
      c[o + 3 * ldc] += s3;
    }
  }
  for (let i = m4; i < m; i++) {
    const a0 = aOff + i * lda;
    for (let j = 0; j < n; j++) {
      const b0 = bOff + j * ldb;
      let s = 0;
      for (let k = 0; k < len; k++) s += a[a0 + k] * b[b0 + k];
      c[cOff + i * ldc + j] += s;
    }
  }
}

/** dst[j*rows + i] = src[i*cols + j]: transpose a row-major [rows, cols] matrix. */
export function transpose(src: Float32Array, rows: number, cols: number): Float32Array {
  const dst = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const s = i * cols;
    for (let j = 0; j < cols; j++) dst[j * rows + i] = src[s + j];
  }
  return dst;
}
