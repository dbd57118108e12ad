/** The role every image operation of the agent goes through; `sharp-image.ts` implements it. */

export type ImageMime = 'image/jpeg' | 'image/png' | 'image/webp';

/** Packed 8-bit RGB, row-major, 3 bytes per pixel. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface ImageCodec {
  /**
   * Decodes an encoded image and stretches it to exactly width×height (no letterbox). With `region`
   * (fractions of the frame) only that part is kept, before resizing.
   */
  decodeResized(
    image: Uint8Array,
    size: { width: number; height: number },
    region?: { x: number; y: number; width: number; height: number },
  ): Promise<RgbImage>;
  encodeJpeg(rgb: RgbImage, quality?: number): Promise<Buffer>;
  encodePng(rgb: RgbImage): Promise<Buffer>;
  /** A JPEG at most `maxWidth` wide (never enlarged, aspect kept), for the live frame. */
  thumbnailJpeg(
    image: Buffer,
    maxWidth: number,
    quality: number,
  ): Promise<{ jpeg: Buffer; width: number; height: number }>;
  /** Re-encodes any supported image as JPEG (already-JPEG input is returned unchanged). */
  toJpeg(image: Buffer, mime: ImageMime, quality?: number): Promise<Buffer>;
}
