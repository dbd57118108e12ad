/**
 * Turns decoded RGB images into the tensor a model's InputSpec asks for (pure). Our own models take
 * the bytes as they are (uint8 NHWC); imported ones may want float, NCHW, BGR, mean/std.
 */
import type { InputSpec } from '@edgeloop/shared';
import type { TensorData } from '../inference/onnx-runner.ts';

/** `images`: RGB, row-major, each spec.width * spec.height * 3 bytes. */
export function toInputTensor(images: readonly Uint8Array[], spec: InputSpec): TensorData {
  const { width: w, height: h } = spec;
  const plane = w * h;
  const n = images.length;
  const dims = spec.layout === 'NHWC' ? [n, h, w, 3] : [n, 3, h, w];
  const bgr = spec.colorOrder === 'BGR';
  if (spec.dtype === 'uint8') {
    const data = new Uint8Array(n * plane * 3);
    for (const [i, img] of images.entries()) {
      writeImage(img, i, (o, v) => {
        data[o] = v;
      });
    }
    return { data, dims };
  }
  const norm = spec.normalization;
  const mul = [1, 1, 1];
  const add = [0, 0, 0];
  for (let c = 0; c < 3; c++) {
    if (norm.kind === 'scale') {
      mul[c] = norm.scale;
      add[c] = norm.offset;
    } else if (norm.kind === 'mean-std') {
      mul[c] = 1 / (255 * norm.std[c]);
      add[c] = -norm.mean[c] / norm.std[c];
    }
  }
  const data = new Float32Array(n * plane * 3);
  for (const [i, img] of images.entries()) {
    writeImage(img, i, (o, v, c) => {
      data[o] = v * mul[c] + add[c];
    });
  }
  return { data, dims };

  function writeImage(img: Uint8Array, i: number, set: (offset: number, value: number, c: number) => void) {
    const base = i * plane * 3;
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) {
        // Channel c of the tensor reads RGB channel c, or 2 - c for BGR; normalisation is per tensor channel.
        const v = img[p * 3 + (bgr ? 2 - c : c)];
        set(spec.layout === 'NHWC' ? base + p * 3 + c : base + c * plane + p, v, c);
      }
    }
  }
}
