/**
 * The depthwise convolution and its gradients on the WebAssembly SIMD `mac` primitive: the same
 * per-tap-row walk as depthwise-math.ts, with the channel loop done four lanes at a time inside the
 * arena. Needs a channel count that is a multiple of 4 (every MobileNet layer has one); callers use
 * the JS versions otherwise. The filter gradient sums each image in float32 and images in doubles.
 */
import { forEachTapRow } from './depthwise-math.ts';
import type { ConvGeometry } from './im2col.ts';
import { copyOut } from './wasm/channel-runtime.ts';
import type { Gemm } from './wasm/gemm-runtime.ts';

export function depthwiseWasmApplies(g: ConvGeometry): boolean {
  return g.inC % 4 === 0;
}

function inSize(g: ConvGeometry): number {
  return g.batch * g.inH * g.inW * g.inC;
}

function outSize(g: ConvGeometry): number {
  return g.batch * g.outH * g.outW * g.inC;
}

export function depthwiseForwardWasm(
  gm: Gemm,
  x: Float32Array,
  filter: Float32Array,
  g: ConvGeometry,
): Float32Array {
  const ch = g.inC;
  const [xb, wb, yb] = gm.reserve([inSize(g), filter.length, outSize(g)]);
  const heap = gm.heap();
  heap.set(x, xb);
  heap.set(filter, wb);
  heap.fill(0, yb, yb + outSize(g));
  forEachTapRow(g, (xRow, oRow, wOff, lo, hi, shift) => {
    gm.mac(
      yb + oRow + lo * ch,
      ch,
      xb + xRow + (lo * g.sw + shift) * ch,
      g.sw * ch,
      wb + wOff,
      0,
      hi - lo,
      ch,
    );
  });
  return copyOut(heap, yb, yb + outSize(g));
}

export function depthwiseInputGradWasm(
  gm: Gemm,
  dy: Float32Array,
  filter: Float32Array,
  g: ConvGeometry,
): Float32Array {
  const ch = g.inC;
  const [db, wb, xb] = gm.reserve([outSize(g), filter.length, inSize(g)]);
  const heap = gm.heap();
  heap.set(dy, db);
  heap.set(filter, wb);
  heap.fill(0, xb, xb + inSize(g));
  forEachTapRow(g, (xRow, oRow, wOff, lo, hi, shift) => {
    gm.mac(
      xb + xRow + (lo * g.sw + shift) * ch,
      g.sw * ch,
      db + oRow + lo * ch,
      ch,
      wb + wOff,
      0,
      hi - lo,
      ch,
    );
  });
  return copyOut(heap, xb, xb + inSize(g));
}

export function depthwiseFilterGradWasm(
  gm: Gemm,
  x: Float32Array,
  dy: Float32Array,
  g: ConvGeometry,
): Float32Array {
  const ch = g.inC;
  const taps = g.fh * g.fw * ch;
  const imgIn = g.inH * g.inW * ch;
  const imgOut = g.outH * g.outW * ch;
  const [xb, db, ab] = gm.reserve([imgIn, imgOut, taps]);
  const heap = gm.heap();
  const acc = new Float64Array(taps);
  const one = { ...g, batch: 1 };
  for (let b = 0; b < g.batch; b++) {
    heap.set(x.subarray(b * imgIn, (b + 1) * imgIn), xb);
    heap.set(dy.subarray(b * imgOut, (b + 1) * imgOut), db);
    heap.fill(0, ab, ab + taps);
    forEachTapRow(one, (xRow, oRow, wOff, lo, hi, shift) => {
      gm.mac(
        ab + wOff,
        0,
        xb + xRow + (lo * g.sw + shift) * ch,
        g.sw * ch,
        db + oRow + lo * ch,
        ch,
        hi - lo,
        ch,
      );
    });
    for (let t = 0; t < taps; t++) acc[t] += heap[ab + t];
  }
  return Float32Array.from(acc);
}
