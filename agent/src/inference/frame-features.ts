/**
 * Cheap fingerprints of a frame, computed from the RGB image already decoded for the model (no
 * second decode): a small grayscale thumbnail for motion gating, and a 64-bit difference hash
 * (dHash) for near-duplicate suppression of samples. Pure functions.
 */
import type { RgbImage } from '../image/image-codec.ts';

/** Box-averaged luma (ITU-R BT.601 weights) at width×height. */
export function grayThumbnail(rgb: RgbImage, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  for (let ty = 0; ty < height; ty++) {
    const y0 = Math.floor((ty * rgb.height) / height);
    const y1 = Math.max(y0 + 1, Math.floor(((ty + 1) * rgb.height) / height));
    for (let tx = 0; tx < width; tx++) {
      const x0 = Math.floor((tx * rgb.width) / width);
      const x1 = Math.max(x0 + 1, Math.floor(((tx + 1) * rgb.width) / width));
      let sum = 0;
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          const i = (y * rgb.width + x) * 3;
          sum += 0.299 * rgb.data[i] + 0.587 * rgb.data[i + 1] + 0.114 * rgb.data[i + 2];
        }
      }
      out[ty * width + tx] = Math.round(sum / ((y1 - y0) * (x1 - x0)));
    }
  }
  return out;
}

/** Mean absolute difference of two equally sized thumbnails (0..255). */
export function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length || a.length === 0) return 255;
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

/**
 * dHash: on a 9×8 grayscale thumbnail, bit (y, x) says whether pixel x is brighter than pixel x+1.
 * Robust to brightness, JPEG noise and small shifts; two frames of the same static scene differ in
 * a few bits, different scenes in about half of them.
 */
export function dHash(rgb: RgbImage): bigint {
  const g = grayThumbnail(rgb, 9, 8);
  let hash = 0n;
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) hash = (hash << 1n) | (g[y * 9 + x] > g[y * 9 + x + 1] ? 1n : 0n);
  }
  return hash;
}

export function hammingDistance(a: bigint, b: bigint): number {
  let x = a ^ b;
  let count = 0;
  while (x) {
    x &= x - 1n;
    count++;
  }
  return count;
}
