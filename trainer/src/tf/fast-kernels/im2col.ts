/**
 * Patch gathering (im2col) and scattering (col2im) for NHWC convolutions. Pure functions, no tfjs.
 *
 * Row m of the patch matrix is output pixel (b, oy, ox) with m = (b*outH + oy)*outW + ox; column k is
 * filter tap (r, c, ci) with k = (r*fw + c)*inC + ci, the order of a [fh, fw, inC, outC] filter, so a
 * filter reshaped to [K, outC] multiplies the patch matrix directly. Taps that fall in the padding
 * read as zero.
 */

export interface ConvGeometry {
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  fh: number;
  fw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  padTop: number;
  padLeft: number;
}

/** Input offset of tap (r, c, 0) for output pixel m, or -1 when the tap lies in the padding. */
function tapOffset(g: ConvGeometry, b: number, oy: number, ox: number, r: number, c: number): number {
  const iy = oy * g.sh - g.padTop + r * g.dh;
  const ix = ox * g.sw - g.padLeft + c * g.dw;
  if (iy < 0 || iy >= g.inH || ix < 0 || ix >= g.inW) return -1;
  return ((b * g.inH + iy) * g.inW + ix) * g.inC;
}

/**
 * out[mm*K + k] = patch value (row m0+mm, column k), for mm < len. Row-major, for forward passes.
 * A filter row whose taps all lie inside the input (no column dilation) is one contiguous run of
 * fw*inC floats in NHWC, copied in one loop; rows in the padding are zero-filled whole.
 */
export function packPatches(
  x: Float32Array,
  g: ConvGeometry,
  m0: number,
  len: number,
  out: Float32Array,
): void {
  const { inC, fh, fw, outH, outW, sh, sw, dh, dw, padTop, padLeft, inH, inW } = g;
  const kSize = fh * fw * inC;
  const run = fw * inC;
  let ox = m0 % outW;
  const rest = (m0 - ox) / outW;
  let oy = rest % outH;
  let b = (rest - oy) / outH;
  for (let mm = 0; mm < len; mm++) {
    let o = mm * kSize;
    const ix0 = ox * sw - padLeft;
    const inside = dw === 1 && ix0 >= 0 && ix0 + fw <= inW;
    for (let r = 0; r < fh; r++) {
      const iy = oy * sh - padTop + r * dh;
      if (iy < 0 || iy >= inH) {
        out.fill(0, o, o + run);
        o += run;
        continue;
      }
      const rowBase = (b * inH + iy) * inW;
      if (inside) {
        const src = (rowBase + ix0) * inC;
        for (let k = 0; k < run; k++) out[o + k] = x[src + k];
        o += run;
        continue;
      }
      for (let c = 0; c < fw; c++) {
        const ix = ix0 + c * dw;
        if (ix < 0 || ix >= inW) out.fill(0, o, o + inC);
        else {
          const src = (rowBase + ix) * inC;
          for (let ci = 0; ci < inC; ci++) out[o + ci] = x[src + ci];
        }
        o += inC;
      }
    }
    if (++ox === outW) {
      ox = 0;
      if (++oy === outH) {
        oy = 0;
        b++;
      }
    }
  }
}

/** out[k*ld + mm] = patch value (row m0+mm, column k), for mm < len: the transposed patch matrix. */
export function packPatchesT(
  x: Float32Array,
  g: ConvGeometry,
  m0: number,
  len: number,
  ld: number,
  out: Float32Array,
): void {
  const { inC, fh, fw, outH, outW } = g;
  for (let mm = 0; mm < len; mm++) {
    const m = m0 + mm;
    const ox = m % outW;
    const rest = (m - ox) / outW;
    const oy = rest % outH;
    const b = (rest - oy) / outH;
    let k = 0;
    for (let r = 0; r < fh; r++) {
      for (let c = 0; c < fw; c++) {
        const src = tapOffset(g, b, oy, ox, r, c);
        if (src < 0) for (let ci = 0; ci < inC; ci++) out[(k + ci) * ld + mm] = 0;
        else for (let ci = 0; ci < inC; ci++) out[(k + ci) * ld + mm] = x[src + ci];
        k += inC;
      }
    }
  }
}

/** out[j*ld + mm] = src[(m0+mm)*cols + j], for mm < len and j < cols. */
export function packRowsT(
  src: Float32Array,
  cols: number,
  m0: number,
  len: number,
  ld: number,
  out: Float32Array,
): void {
  for (let mm = 0; mm < len; mm++) {
    const s = (m0 + mm) * cols;
    for (let j = 0; j < cols; j++) out[j * ld + mm] = src[s + j];
  }
}

/** col2im: dx[tap input] += cols[mm*ldc + k] for rows m0..m0+len; taps in the padding are dropped. */
export function scatterPatches(
  cols: Float64Array,
  ldc: number,
  g: ConvGeometry,
  m0: number,
  len: number,
  dx: Float64Array,
): void {
  const { inC, fh, fw, outH, outW } = g;
  for (let mm = 0; mm < len; mm++) {
    const m = m0 + mm;
    const ox = m % outW;
    const rest = (m - ox) / outW;
    const oy = rest % outH;
    const b = (rest - oy) / outH;
    let o = mm * ldc;
    for (let r = 0; r < fh; r++) {
      for (let c = 0; c < fw; c++) {
        const dst = tapOffset(g, b, oy, ox, r, c);
        if (dst >= 0) for (let ci = 0; ci < inC; ci++) dx[dst + ci] += cols[o + ci];
        o += inC;
      }
    }
  }
}
