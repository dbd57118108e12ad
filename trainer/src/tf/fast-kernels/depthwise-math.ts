/**
 * NHWC depthwise convolution with channel multiplier 1 (filter [fh, fw, C, 1]) and its gradients.
 * Every loop runs innermost over the contiguous channel axis; sums are kept in doubles. Pure, no tfjs.
 */
import type { ConvGeometry } from './im2col.ts';

/** Input row/column of filter tap r/c for output row/column o, or -1 inside the padding. */
function tapRow(g: ConvGeometry, oy: number, r: number): number {
  const iy = oy * g.sh - g.padTop + r * g.dh;
  return iy < 0 || iy >= g.inH ? -1 : iy;
}

function tapCol(g: ConvGeometry, ox: number, c: number): number {
  const ix = ox * g.sw - g.padLeft + c * g.dw;
  return ix < 0 || ix >= g.inW ? -1 : ix;
}

/** y [batch, outH, outW, C] from x [batch, inH, inW, C] and filter [fh, fw, C, 1]. */
export function depthwiseForward(x: Float32Array, filter: Float32Array, g: ConvGeometry): Float32Array {
  const { batch, outH, outW, inC: ch, fh, fw, inH, inW } = g;
  const y = new Float32Array(batch * outH * outW * ch);
  const acc = new Float64Array(ch);
  let o = 0;
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        acc.fill(0);
        for (let r = 0; r < fh; r++) {
          const iy = tapRow(g, oy, r);
          if (iy < 0) continue;
          for (let c = 0; c < fw; c++) {
            const ix = tapCol(g, ox, c);
            if (ix < 0) continue;
            const xo = ((b * inH + iy) * inW + ix) * ch;
            const wo = (r * fw + c) * ch;
            for (let d = 0; d < ch; d++) acc[d] += x[xo + d] * filter[wo + d];
          }
        }
        for (let d = 0; d < ch; d++) y[o + d] = acc[d];
        o += ch;
      }
    }
  }
  return y;
}

/** dW [fh, fw, C, 1] from x [batch, inH, inW, C] and dy [batch, outH, outW, C]. */
export function depthwiseFilterGrad(x: Float32Array, dy: Float32Array, g: ConvGeometry): Float32Array {
  const { batch, outH, outW, inC: ch, fh, fw, inH, inW } = g;
  const acc = new Float64Array(fh * fw * ch);
  let o = 0;
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        for (let r = 0; r < fh; r++) {
          const iy = tapRow(g, oy, r);
          if (iy < 0) continue;
          for (let c = 0; c < fw; c++) {
            const ix = tapCol(g, ox, c);
            if (ix < 0) continue;
            const xo = ((b * inH + iy) * inW + ix) * ch;
            const ao = (r * fw + c) * ch;
            for (let d = 0; d < ch; d++) acc[ao + d] += x[xo + d] * dy[o + d];
          }
        }
        o += ch;
      }
    }
  }
  return Float32Array.from(acc);
}

/** dX [batch, inH, inW, C] from dy [batch, outH, outW, C] and filter [fh, fw, C, 1]. */
export function depthwiseInputGrad(dy: Float32Array, filter: Float32Array, g: ConvGeometry): Float32Array {
  const { batch, outH, outW, inC: ch, fh, fw, inH, inW } = g;
  const dx = new Float64Array(batch * inH * inW * ch);
  let o = 0;
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        for (let r = 0; r < fh; r++) {
          const iy = tapRow(g, oy, r);
          if (iy < 0) continue;
          for (let c = 0; c < fw; c++) {
            const ix = tapCol(g, ox, c);
            if (ix < 0) continue;
            const xo = ((b * inH + iy) * inW + ix) * ch;
            const wo = (r * fw + c) * ch;
            for (let d = 0; d < ch; d++) dx[xo + d] += dy[o + d] * filter[wo + d];
          }
        }
        o += ch;
      }
    }
  }
  return Float32Array.from(dx);
}
