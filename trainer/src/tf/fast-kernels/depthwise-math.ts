/**
 * NHWC depthwise convolution with channel multiplier 1 (filter [fh, fw, C, 1]) and its gradients.
 * Every loop runs innermost over the contiguous channel axis, and the valid filter taps of a row are
 * worked out once per row instead of per element. Outputs and input gradients sum at most fh*fw
 * terms, in float32; the filter gradient sums one output row in float32 and rows in doubles.
 * Pure, no tfjs.
 */
import type { ConvGeometry } from './im2col.ts';

/** Input row of filter tap r for output row oy, or -1 inside the padding. */
function tapRow(g: ConvGeometry, oy: number, r: number): number {
  const iy = oy * g.sh - g.padTop + r * g.dh;
  return iy < 0 || iy >= g.inH ? -1 : iy;
}

/** First and one-past-last output column whose tap c lands inside the input. */
function colRange(g: ConvGeometry, c: number): [number, number] {
  const shift = c * g.dw - g.padLeft; // ix = ox*sw + shift
  const lo = shift >= 0 ? 0 : Math.ceil(-shift / g.sw);
  const hi = Math.min(g.outW, Math.floor((g.inW - 1 - shift) / g.sw) + 1);
  return [lo, Math.max(lo, hi)];
}

/**
 * Calls visit(xRow, oRow, wOff, lo, hi, shift) for each (batch, output row, tap) whose input row
 * exists: xRow/oRow are the offsets of that input row and output row, wOff the tap's filter offset,
 * and output columns lo..hi-1 read input column ox*sw + shift.
 */
export function forEachTapRow(
  g: ConvGeometry,
  visit: (xRow: number, oRow: number, wOff: number, lo: number, hi: number, shift: number) => void,
): void {
  const { batch, outH, outW, inC: ch, fh, fw, inH, inW } = g;
  const ranges = Array.from({ length: fw }, (_, c) => colRange(g, c));
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < outH; oy++) {
      const oRow = (b * outH + oy) * outW * ch;
      for (let r = 0; r < fh; r++) {
        const iy = tapRow(g, oy, r);
        if (iy < 0) continue;
        const xRow = (b * inH + iy) * inW * ch;
        for (let c = 0; c < fw; c++) {
          const [lo, hi] = ranges[c];
          if (lo < hi) visit(xRow, oRow, (r * fw + c) * ch, lo, hi, c * g.dw - g.padLeft);
        }
      }
    }
  }
}

/** y [batch, outH, outW, C] from x [batch, inH, inW, C] and filter [fh, fw, C, 1]. */
export function depthwiseForward(x: Float32Array, filter: Float32Array, g: ConvGeometry): Float32Array {
  const { inC: ch, sw } = g;
  const y = new Float32Array(g.batch * g.outH * g.outW * ch);
  forEachTapRow(g, (xRow, oRow, wOff, lo, hi, shift) => {
    for (let ox = lo; ox < hi; ox++) {
      const xo = xRow + (ox * sw + shift) * ch;
      const o = oRow + ox * ch;
      for (let d = 0; d < ch; d++) y[o + d] += x[xo + d] * filter[wOff + d];
    }
  });
  return y;
}

/** dW [fh, fw, C, 1] from x [batch, inH, inW, C] and dy [batch, outH, outW, C]. */
export function depthwiseFilterGrad(x: Float32Array, dy: Float32Array, g: ConvGeometry): Float32Array {
  const { inC: ch, sw } = g;
  const taps = g.fh * g.fw * ch;
  const acc = new Float64Array(taps);
  const part = new Float32Array(ch);
  forEachTapRow(g, (xRow, oRow, wOff, lo, hi, shift) => {
    part.fill(0);
    for (let ox = lo; ox < hi; ox++) {
      const xo = xRow + (ox * sw + shift) * ch;
      const o = oRow + ox * ch;
      for (let d = 0; d < ch; d++) part[d] += x[xo + d] * dy[o + d];
    }
    for (let d = 0; d < ch; d++) acc[wOff + d] += part[d];
  });
  return Float32Array.from(acc);
}

/** dX [batch, inH, inW, C] from dy [batch, outH, outW, C] and filter [fh, fw, C, 1]. */
export function depthwiseInputGrad(dy: Float32Array, filter: Float32Array, g: ConvGeometry): Float32Array {
  const { inC: ch, sw } = g;
  const dx = new Float32Array(g.batch * g.inH * g.inW * ch);
  forEachTapRow(g, (xRow, oRow, wOff, lo, hi, shift) => {
    for (let ox = lo; ox < hi; ox++) {
      const xo = xRow + (ox * sw + shift) * ch;
      const o = oRow + ox * ch;
      for (let d = 0; d < ch; d++) dx[xo + d] += dy[o + d] * filter[wOff + d];
    }
  });
  return dx;
}
