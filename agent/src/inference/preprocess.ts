/**
 * Camera frame → model input tensor. Which size, layout, dtype and normalization a model wants lives
 * in its manifest's InputSpec, never in code. `tensorFromRgb` is pure; `preprocessFrame` adds the
 * decode + resize step through the ImageCodec role.
 */
import { type InputSpec, ValidationError } from '@edgeloop/shared';
import type { ImageCodec, RgbImage } from '../image/image-codec.ts';
import type { TensorInput } from './inference-backend.ts';

/** Maps one 0..255 channel value of channel `c` to what the model expects. */
function normalizer(spec: InputSpec): (value: number, c: number) => number {
  const n = spec.normalization;
  switch (n.kind) {
    case 'none':
      return (v) => v;
    case 'scale':
      return (v) => v * n.scale + n.offset;
    case 'mean-std':
      return (v, c) => (v / 255 - n.mean[c]) / n.std[c];
  }
}

/**
 * Converts packed RGB (already resized to spec.width×spec.height) into the model's input tensor with
 * a batch of one. uint8 inputs get the raw bytes (our models scale inside the graph) and ignore
 * `normalization`; float32 inputs are normalized per channel after the colour order is applied,
 * so mean[0]/std[0] belong to the model's first channel.
 */
export function tensorFromRgb(rgb: RgbImage, spec: InputSpec): TensorInput {
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

  const out = spec.dtype === 'uint8' ? new Uint8Array(pixels * 3) : new Float32Array(pixels * 3);
  const norm = spec.dtype === 'float32' ? normalizer(spec) : (v: number) => v;
  const src = rgb.data;
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < 3; c++) {
      const value = src[p * 3 + (bgr ? 2 - c : c)];
      out[nchw ? c * pixels + p : p * 3 + c] = norm(value, c);
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
): Promise<TensorInput> {
  const rgb = await codec.decodeResized(image, { width: spec.width, height: spec.height });
  return tensorFromRgb(rgb, spec);
}
