/**
 * NHWC 2-D convolution and its two gradients as matrix products over the patch matrix P [M, K]
 * (M = batch*outH*outW output pixels, K = fh*fw*inC taps) and the filter W [K, outC]:
 *   forward      Y  = P W
 *   filter grad  dW = P^T dY
 *   input grad   dP = dY W^T, scattered back onto the input (col2im)
 * A 1x1, stride-1, unpadded convolution has P = X, so no patches are gathered. Pure, no tfjs.
 */
import { type ConvGeometry, packPatches, packPatchesT, packRowsT, scatterPatches } from './im2col.ts';
import { matmulABtAcc, transpose } from './matmul.ts';

/** Output pixels per pass: bounds the gathered-patch and double-accumulator buffers. */
const ROWS = 64;
/** Output pixels per pass of the filter gradient (the reduction axis of P^T dY). */
const FILTER_GRAD_CHUNK = 256;

const roundUp4 = (v: number) => (v + 3) & ~3;

function isPointwise(g: ConvGeometry): boolean {
  return g.fh === 1 && g.fw === 1 && g.sh === 1 && g.sw === 1 && g.padTop === 0 && g.padLeft === 0;
}

function pixels(g: ConvGeometry): number {
  return g.batch * g.outH * g.outW;
}

/** Y [batch, outH, outW, outC] from x [batch, inH, inW, inC] and filter [fh, fw, inC, outC]. */
export function conv2dForward(x: Float32Array, filter: Float32Array, g: ConvGeometry): Float32Array {
  const kSize = g.fh * g.fw * g.inC;
  const n = g.outC;
  const m = pixels(g);
  const wT = transpose(filter, kSize, n); // [outC, K]: rows contiguous along the reduction
  const y = new Float32Array(m * n);
  const acc = new Float64Array(ROWS * n);
  const direct = isPointwise(g);
  const patches = direct ? x : new Float32Array(ROWS * kSize);
  for (let m0 = 0; m0 < m; m0 += ROWS) {
    const len = Math.min(ROWS, m - m0);
    if (!direct) packPatches(x, g, m0, len, patches);
    acc.fill(0, 0, len * n);
    matmulABtAcc(patches, direct ? m0 * kSize : 0, kSize, wT, 0, kSize, len, n, kSize, acc, 0, n);
    const base = m0 * n;
    for (let t = 0; t < len * n; t++) y[base + t] = acc[t];
  }
  return y;
}

/** dW [fh, fw, inC, outC] = P^T dY, from x and dy [batch, outH, outW, outC]. */
export function conv2dFilterGrad(x: Float32Array, dy: Float32Array, g: ConvGeometry): Float32Array {
  const kSize = g.fh * g.fw * g.inC;
  const n = g.outC;
  const m = pixels(g);
  // Padding K and N to multiples of 4 keeps every tile of the product full; padded rows stay zero.
  const kPad = roundUp4(kSize);
  const nPad = roundUp4(n);
  const chunk = FILTER_GRAD_CHUNK;
  const pT = new Float32Array(kPad * chunk);
  const dyT = new Float32Array(nPad * chunk);
  const acc = new Float64Array(kPad * nPad);
  for (let m0 = 0; m0 < m; m0 += chunk) {
    const len = Math.min(chunk, m - m0);
    packPatchesT(x, g, m0, len, chunk, pT);
    packRowsT(dy, n, m0, len, chunk, dyT);
    matmulABtAcc(pT, 0, chunk, dyT, 0, chunk, kPad, nPad, len, acc, 0, nPad);
  }
  const dW = new Float32Array(kSize * n);
  for (let k = 0; k < kSize; k++) {
    for (let j = 0; j < n; j++) dW[k * n + j] = acc[k * nPad + j];
  }
  return dW;
}

/** dX [batch, inH, inW, inC] from dy [batch, outH, outW, outC] and filter [fh, fw, inC, outC]. */
export function conv2dInputGrad(dy: Float32Array, filter: Float32Array, g: ConvGeometry): Float32Array {
  const kSize = g.fh * g.fw * g.inC;
  const n = g.outC;
  const m = pixels(g);
  const cols = new Float64Array(ROWS * kSize);
  if (isPointwise(g)) {
    // dP is dX itself: write each block straight out.
    const dx = new Float32Array(m * kSize);
    for (let m0 = 0; m0 < m; m0 += ROWS) {
      const len = Math.min(ROWS, m - m0);
      cols.fill(0, 0, len * kSize);
      matmulABtAcc(dy, m0 * n, n, filter, 0, n, len, kSize, n, cols, 0, kSize);
      const base = m0 * kSize;
      for (let t = 0; t < len * kSize; t++) dx[base + t] = cols[t];
    }
    return dx;
  }
  const dxAcc = new Float64Array(g.batch * g.inH * g.inW * g.inC);
  for (let m0 = 0; m0 < m; m0 += ROWS) {
    const len = Math.min(ROWS, m - m0);
    cols.fill(0, 0, len * kSize);
    matmulABtAcc(dy, m0 * n, n, filter, 0, n, len, kSize, n, cols, 0, kSize);
    scatterPatches(cols, kSize, g, m0, len, dxAcc);
  }
  return Float32Array.from(dxAcc);
}
