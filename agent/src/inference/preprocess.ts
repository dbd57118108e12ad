/**
 * Camera frame → model input tensor. Which size, layout, dtype and normalization a model wants lives
 * in its manifest's InputSpec, never in code. `tensorFromRgb` is pure; `preprocessFrame` adds the
 * decode + resize step through the ImageCodec role.
 */
import { type InputSpec, type Region, ValidationError } from '@edgeloop/shared';
import type { ImageCodec, RgbImage } from '../image/image-codec.ts';
import type { TensorInput } from './inference-backend.ts';

/** value = byte * scale + offset, per model channel: what the model expects for each 0..255 value. */
interface ChannelMap {
  scale: [number, number, number];
  offset: [number, number, number];
}

function channelMap(spec: InputSpec): ChannelMap {
  const n = spec.normalization;
  if (n.kind === 'none') return { scale: [1, 1, 1], offset: [0, 0, 0] };
  if (n.kind === 'scale')
    return { scale: [n.scale, n.scale, n.scale], offset: [n.offset, n.offset, n.offset] };
  const c = [0, 1, 2] as const;
  return {
    scale: c.map((i) => 1 / (255 * n.std[i])) as ChannelMap['scale'],
    offset: c.map((i) => -n.mean[i] / n.std[i]) as ChannelMap['offset'],
  };
}

/**
 * Converts packed RGB (already resized to spec.width×spec.height) into the model's input tensor with
 * a batch of one. uint8 inputs get the raw bytes (our models scale inside the graph) and ignore
 * `normalization`; float32 inputs are normalized per channel after the colour order is applied,
 * so mean[0]/std[0] belong to the model's first channel.
 */
export function tensorFromRgb(rgb: RgbImage, spec: InputSpec, reuse?: Float32Array): TensorInput {
  const { width, height } = spec;
  if (rgb.width !== width || rgb.height !== height || rgb.data.length !== width * height * 3) {
    throw new ValidationError(
      `image is ${rgb.width}x${rgb.height} (${rgb.data.length} bytes), model input wants ${width}x${height}x3`,
    );
  }
  const pixels = width * height;
  const bgr = spec.colorOrder === 'BGR';
  const nchw = spec.layout === 'NCHW';
  const dims = nchw ? [1, 3, height, width] : [1, height, width, 3];

  if (spec.dtype === 'uint8' && !nchw && !bgr) return { dtype: 'uint8', data: rgb.data, dims };

  const src = rgb.data;
  // Model channel c reads RGB byte order[c]. The permutation is its own inverse, so RGB byte k also
  // lands in model channel order[k]: the float loops below read R, G, B in memory order with it.
  const order = bgr ? [2, 1, 0] : [0, 1, 2];
  if (spec.dtype === 'uint8') {
    const out = new Uint8Array(pixels * 3);
    for (let c = 0; c < 3; c++) {
      const s = order[c];
      for (let p = 0; p < pixels; p++) out[nchw ? c * pixels + p : p * 3 + c] = src[p * 3 + s];
    }
    return { dtype: 'uint8', data: out, dims };
  }
  // Every element is written below, so a recycled buffer of the right size needs no clearing.
  const out = reuse?.length === pixels * 3 ? reuse : new Float32Array(pixels * 3);
  const { scale, offset } = channelMap(spec);
  const [aR, aG, aB] = order.map((c) => scale[c]);
  const [bR, bG, bB] = order.map((c) => offset[c]);
  // Where the R, G and B of pixel 0 go: the start of their planes (NCHW) or their slot (NHWC).
  const [sR, sG, sB] = order.map((c) => (nchw ? c * pixels : c));
  if (nchw && pixels % 4 === 0 && src.byteOffset % 4 === 0) {
    planarFromWords(src, out, pixels, [sR, sG, sB], [aR, aG, aB], [bR, bG, bB]);
  } else {
    // Any layout, any alignment: one pixel per step.
    const step = nchw ? 1 : 3;
    for (let p = 0, i = 0, o = 0; p < pixels; p++, i += 3, o += step) {
      out[sR + o] = src[i] * aR + bR;
      out[sG + o] = src[i + 1] * aG + bG;
      out[sB + o] = src[i + 2] * aB + bB;
    }
  }
  return { dtype: spec.dtype, data: out, dims };
}

/**
 * Packed RGB bytes → three float planes, four pixels (three 32-bit words) per step: this runs on the
 * main thread for every frame, and reading words with arithmetic instead of bytes through a lookup
 * table roughly halves its time (docs/benchmarks.md, Agent). Words are little-endian on every
 * platform the agent runs on (x64, arm64).
 */
function planarFromWords(
  src: Uint8Array,
  out: Float32Array,
  pixels: number,
  [r, g, b]: number[],
  [aR, aG, aB]: number[],
  [bR, bG, bB]: number[],
): void {
  const words = new Uint32Array(src.buffer, src.byteOffset, (pixels * 3) / 4);
  for (let p = 0, j = 0; p < pixels; p += 4, j += 3) {
    const x = words[j];
    const y = words[j + 1];
    const z = words[j + 2];
    out[r + p] = (x & 255) * aR + bR;
    out[g + p] = ((x >>> 8) & 255) * aG + bG;
    out[b + p] = ((x >>> 16) & 255) * aB + bB;
    out[r + p + 1] = (x >>> 24) * aR + bR;
    out[g + p + 1] = (y & 255) * aG + bG;
    out[b + p + 1] = ((y >>> 8) & 255) * aB + bB;
    out[r + p + 2] = ((y >>> 16) & 255) * aR + bR;
    out[g + p + 2] = (y >>> 24) * aG + bG;
    out[b + p + 2] = (z & 255) * aB + bB;
    out[r + p + 3] = ((z >>> 8) & 255) * aR + bR;
    out[g + p + 3] = ((z >>> 16) & 255) * aG + bG;
    out[b + p + 3] = (z >>> 24) * aB + bB;
  }
}

/** A zero tensor of the input's shape, for warming a session up. */
export function blankInput(spec: InputSpec): TensorInput {
  const rgb = { width: spec.width, height: spec.height, data: new Uint8Array(spec.width * spec.height * 3) };
  return tensorFromRgb(rgb, spec);
}

export async function preprocessFrame(
  image: Uint8Array,
  spec: InputSpec,
  codec: ImageCodec,
  region?: Region,
): Promise<TensorInput> {
  const rgb = await codec.decodeResized(image, { width: spec.width, height: spec.height }, region);
  return tensorFromRgb(rgb, spec);
}
