/** The one importer of sharp in the agent. */
import sharp from 'sharp';
import type { ImageCodec, ImageMime, RgbImage } from './image-codec.ts';

function rawInput(rgb: RgbImage) {
  return sharp(rgb.data, { raw: { width: rgb.width, height: rgb.height, channels: 3 } });
}

export function createSharpImageCodec(): ImageCodec {
  return {
    async decodeResized(image, size, region) {
      let pipeline = sharp(image).rotate(); // honour EXIF orientation as a camera means it
      if (region) {
        // The header alone gives the size; the crop then runs inside the same decode.
        const meta = await sharp(image).metadata();
        const w = meta.width ?? 0;
        const h = meta.height ?? 0;
        const left = Math.min(w - 1, Math.floor(region.x * w));
        const top = Math.min(h - 1, Math.floor(region.y * h));
        pipeline = pipeline.extract({
          left,
          top,
          width: Math.max(1, Math.min(w - left, Math.round(region.width * w))),
          height: Math.max(1, Math.min(h - top, Math.round(region.height * h))),
        });
      }
      const { data, info } = await pipeline
        .resize(size.width, size.height, { fit: 'fill' })
        .removeAlpha()
        .toColourspace('srgb')
        .raw()
        .toBuffer({ resolveWithObject: true });
      if (info.channels !== 3) throw new Error(`expected 3 channels after decoding, got ${info.channels}`);
      return {
        width: info.width,
        height: info.height,
        data: new Uint8Array(data.buffer, data.byteOffset, data.length),
      };
    },
    encodeJpeg(rgb, quality = 90) {
      return rawInput(rgb).jpeg({ quality }).toBuffer();
    },
    encodePng(rgb) {
      return rawInput(rgb).png().toBuffer();
    },
    async thumbnailJpeg(image, maxWidth, quality) {
      const { data, info } = await sharp(image)
        .rotate()
        .resize({ width: maxWidth, withoutEnlargement: true })
        .flatten({ background: '#000000' })
        .jpeg({ quality })
        .toBuffer({ resolveWithObject: true });
      return { jpeg: data, width: info.width, height: info.height };
    },
    async toJpeg(image: Buffer, mime: ImageMime, quality = 90) {
      if (mime === 'image/jpeg') return image;
      return sharp(image).flatten({ background: '#000000' }).jpeg({ quality }).toBuffer();
    },
  };
}
