/**
 * The depthwise convolution and its gradients on the WebAssembly SIMD `mac` primitive: the same
 * per-tap-row walk as depthwise-math.ts, with the channel loop done four lanes at a time, on the
 * tensors where they lie in the heap (heap-io.ts). The walk (one mac call per batch image, output
 * row and filter tap) is written once per geometry as a list of call arguments in the heap and
 * run by one macList call; entries go image by image, so a range of images is a range of the list.
 * Needs a channel count that is a multiple of 4 (every MobileNet layer has one); callers use the JS
 * versions otherwise. The filter gradient sums each image in float32 and images in doubles.
 */
import { forEachTapRow } from './depthwise-math.ts';
import { heapSession } from './heap-io.ts';
import type { ConvGeometry } from './im2col.ts';
import type { Gemm } from './wasm/gemm-runtime.ts';
import type { WasmHeap } from './wasm/heap.ts';
import { cut, partsFor, runParts } from './wasm/parallel.ts';

export function depthwiseWasmApplies(g: ConvGeometry): boolean {
  return g.inC % 4 === 0;
}

function inSize(g: ConvGeometry): number {
  return g.batch * g.inH * g.inW * g.inC;
}

function outSize(g: ConvGeometry): number {
  return g.batch * g.outH * g.outW * g.inC;
}

type Kind = 'forward' | 'input' | 'filter';

/** A mac call list in the heap: `count` entries of 8 int32 at float offset `list`. */
export interface MacList {
  list: number;
  count: number;
  /** imageStart[b] = index of image b's first entry; imageStart[batch] = count. */
  imageStart: number[];
}

const MAX_LISTS = 96;
const lists = new Map<string, MacList>();

function buildList(heap: WasmHeap, g: ConvGeometry, kind: Kind): MacList {
  const ch = g.inC;
  const taps = g.fh * g.fw * ch;
  const perImage = g.outH * g.outW * ch;
  const entries: number[] = [];
  const imageStart: number[] = [];
  forEachTapRow(g, (xRow, oRow, wOff, lo, hi, shift) => {
    const b = Math.floor(oRow / perImage);
    while (imageStart.length <= b) imageStart.push(entries.length / 8);
    const xAt = xRow + (lo * g.sw + shift) * ch;
    const oAt = oRow + lo * ch;
    // [out, outStep, p, pStep, q, qStep] in floats; bases are added by macList.
    const args =
      kind === 'forward'
        ? [oAt, ch, xAt, g.sw * ch, wOff, 0]
        : kind === 'input'
          ? [xAt, g.sw * ch, oAt, ch, wOff, 0]
          : [b * taps + wOff, 0, xAt, g.sw * ch, oAt, ch];
    for (const v of args) entries.push(v * 4);
    entries.push(hi - lo, ch >> 2);
  });
  const count = entries.length / 8;
  while (imageStart.length <= g.batch) imageStart.push(count);
  const list = heap.alloc(entries.length);
  if (list < 0) throw new Error('edgeloop wasm heap full (depthwise call list)');
  new Int32Array(heap.f32().buffer, list * 4, entries.length).set(entries);
  return { list, count, imageStart };
}

/** The call list of a geometry and kind, built on first use (a training loop repeats them). */
function listFor(heap: WasmHeap, g: ConvGeometry, kind: Kind): MacList {
  const key = `${kind}:${Object.values(g).join(',')}`;
  let l = lists.get(key);
  if (l == null) {
    if (lists.size >= MAX_LISTS) {
      for (const old of lists.values()) heap.free(old.list, old.count * 8);
      lists.clear();
    }
    l = buildList(heap, g, kind);
    lists.set(key, l);
  }
  return l;
}

/** Runs a list, split by images between threads when it is big enough. */
function runImages(gm: Gemm, l: MacList, g: ConvGeometry, out: number, p: number, q: number): void {
  const parts = cut(g.batch, partsFor(outSize(g) * g.fh * g.fw));
  const args = parts.map(([b0, b1]) => {
    const from = l.imageStart[b0];
    return [(l.list + from * 8) * 4, l.imageStart[b1] - from, out * 4, p * 4, q * 4];
  });
  runParts('macList', args, gm.raw);
}

export function depthwiseForwardWasm(
  gm: Gemm,
  x: Float32Array,
  filter: Float32Array,
  g: ConvGeometry,
): Float32Array {
  const heap = gm.heapOf();
  const l = listFor(heap, g, 'forward');
  const s = heapSession(heap);
  const xo = s.input(x);
  const wo = s.input(filter);
  const y = s.output(outSize(g), true);
  runImages(gm, l, g, y.off, xo, wo);
  s.done();
  return y.array;
}

export function depthwiseInputGradWasm(
  gm: Gemm,
  dy: Float32Array,
  filter: Float32Array,
  g: ConvGeometry,
): Float32Array {
  const heap = gm.heapOf();
  const l = listFor(heap, g, 'input');
  const s = heapSession(heap);
  const dyo = s.input(dy);
  const wo = s.input(filter);
  const dx = s.output(inSize(g), true);
  runImages(gm, l, g, dx.off, dyo, wo);
  s.done();
  return dx.array;
}

export function depthwiseFilterGradWasm(
  gm: Gemm,
  x: Float32Array,
  dy: Float32Array,
  g: ConvGeometry,
): Float32Array {
  const heap = gm.heapOf();
  const l = listFor(heap, g, 'filter');
  const taps = g.fh * g.fw * g.inC;
  const s = heapSession(heap);
  const xo = s.input(x);
  const dyo = s.input(dy);
  const parts = s.temp(g.batch * taps);
  s.zero(parts, g.batch * taps);
  runImages(gm, l, g, parts, xo, dyo);
  const h = s.f32();
  const acc = new Float64Array(taps);
  for (let b = 0; b < g.batch; b++) {
    const p = parts + b * taps;
    for (let t = 0; t < taps; t++) acc[t] += h[p + t];
  }
  s.done();
  return Float32Array.from(acc);
}
