/** Checks that bytes are a whole, decodable JPEG, PNG or WebP image: the only importer of sharp. */
import { EdgeloopError } from '@edgeloop/shared';
import sharp from 'sharp';

export interface ImageInfo {
  format: 'jpeg' | 'png' | 'webp';
  extension: 'jpg' | 'png' | 'webp';
  contentType: string;
  width: number;
  height: number;
}

const FORMATS = {
  jpeg: { extension: 'jpg', contentType: 'image/jpeg' },
  png: { extension: 'png', contentType: 'image/png' },
  webp: { extension: 'webp', contentType: 'image/webp' },
} as const;

function unsupported(message: string): EdgeloopError {
  return new EdgeloopError('UNSUPPORTED_MEDIA', message);
}

export async function probeImage(bytes: Uint8Array, maxPixels: number): Promise<ImageInfo> {
  let meta: Awaited<ReturnType<ReturnType<typeof sharp>['metadata']>>;
  try {
    meta = await sharp(bytes).metadata();
  } catch {
    throw unsupported('not an image sharp can read; send JPEG, PNG or WebP');
  }
  const format = meta.format;
  if (format !== 'jpeg' && format !== 'png' && format !== 'webp') {
    throw unsupported(`image format '${format ?? 'unknown'}' is not accepted; send JPEG, PNG or WebP`);
  }
  const { width, height } = meta;
  if (!width || !height) throw unsupported('image has no dimensions');
  if (width * height > maxPixels) {
    throw new EdgeloopError('PAYLOAD_TOO_LARGE', `image is ${width}x${height}, over ${maxPixels} pixels`);
  }
  // The header alone can lie (a truncated upload keeps it): decode the whole image once.
  try {
    await sharp(bytes, { failOn: 'error', limitInputPixels: maxPixels }).raw().toBuffer();
  } catch (err) {
    throw unsupported(`image does not decode: ${(err as Error).message}`);
  }
  return { format, ...FORMATS[format], width, height };
}
