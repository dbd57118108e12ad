/**
 * Camera frame → model input tensor. Which size, layout, dtype and normalization a model wants lives
 * in its manifest's InputSpec, never in code. `tensorFromRgb` is pure; `preprocessFrame` adds the
 * decode + resize step through the ImageCodec role.
 */
import { type InputSpec, type Region, ValidationError } from '@edgeloop/shared';
import type { ImageCodec, RgbImage } from '../image/image-codec.ts';
import type { TensorInput } from './inference-backend.ts';

/**
 * What the model expects for each 0..255 value of each of its 3 channels, as a 768-entry table:
 * one lookup per value instead of a division per value (150k values per 224×224 frame).
 */
function normalizationTable(spec: InputSpec): Float32Array {
  const n = spec.normalization;
  const table = new Float32Array(768);
  for (let c = 0; c < 3; c++) {
    for (let v = 0; v < 256; v++) {
      table[c * 256 + v] =
        n.kind === 'none'
          ? v
          : n.kind === 'scale'
            ? v * n.scale + n.offset
            : (v / 255 - n.mean[c]) / n.std[c];
    }
  }
  return table;
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
  // Channel c of the model reads channel (bgr ? 2 - c : c) of the RGB pixels.
  const from = bgr ? [2, 1, 0] : [0, 1, 2];
  if (spec.dtype === 'uint8') {
    const out = new Uint8Array(pixels * 3);
    for (let c = 0; c < 3; c++) {
      const s = from[c];
      for (let p = 0; p < pixels; p++) out[nchw ? c * pixels + p : p * 3 + c] = src[p * 3 + s];
    }
    return { dtype: 'uint8', data: out, dims };
  }
  const table = normalizationTable(spec);
  // Every element is written below, so a recycled buffer of the right size needs no clearing.
  const out = reuse?.length === pixels * 3 ? reuse : new Float32Array(pixels * 3);
  for (let c = 0; c < 3; c++) {
    const s = from[c];
    const base = c * 256;
    if (nchw) {
      const plane = c * pixels;
      for (let p = 0; p < pixels; p++) out[plane + p] = table[base + src[p * 3 + s]];
    } else {
      for (let p = 0; p < pixels; p++) out[p * 3 + c] = table[base + src[p * 3 + s]];
    }
  }
  return { dtype: spec.dtype, data: out, dims };
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
