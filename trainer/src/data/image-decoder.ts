/** The trainer's one importer of sharp: decode any supported image to RGB bytes of a fixed size. */

import { EdgeloopError } from '@edgeloop/shared';
import sharp from 'sharp';

/** Decompression-bomb guard: refuse images above this many pixels before decoding them. */
export const DEFAULT_MAX_PIXELS = 40_000_000;

export interface DecodedImage {
  width: number;
  height: number;
  /** RGB, row-major. */
  data: Uint8Array;
}

export async function decodeResized(
  input: Uint8Array | string,
  size: { width: number; height: number },
  maxPixels = DEFAULT_MAX_PIXELS,
): Promise<DecodedImage> {
  try {
    const { data, info } = await sharp(input, { limitInputPixels: maxPixels, failOn: 'error' })
      .rotate()
      .removeAlpha()
      .toColourspace('srgb')
      .resize(size.width, size.height, { fit: 'fill' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    return {
      width: info.width,
      height: info.height,
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    };
  } catch (err) {
    throw new EdgeloopError('DATASET_INVALID', `cannot decode image: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

export async function encodeRaw(image: DecodedImage, format: 'jpeg' | 'png', quality = 92): Promise<Buffer> {
  const s = sharp(Buffer.from(image.data), {
    raw: { width: image.width, height: image.height, channels: 3 },
  });
  return format === 'png' ? s.png().toBuffer() : s.jpeg({ quality }).toBuffer();
}
