import { describe, expect, it } from 'vitest';
import { MjpegFramer } from '../../../agent/src/camera/mjpeg-framer.ts';
import { createSharpImageCodec } from '../../../agent/src/image/sharp-image.ts';

const codec = createSharpImageCodec();

async function jpeg(value: number, size = 24): Promise<Buffer> {
  const data = new Uint8Array(size * size * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + value) % 256; // busy pixels: real entropy data
  return codec.encodeJpeg({ width: size, height: size, data }, 80);
}

/** Splits `bytes` into chunks of the given sizes, cycling. */
function chunks(bytes: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = sizes[i % sizes.length];
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

describe('MjpegFramer', () => {
  it('cuts a stream split at every possible size into the same whole JPEGs', async () => {
    const images = [await jpeg(1), await jpeg(2), await jpeg(3)];
    const stream = Buffer.concat(images);
    for (const sizes of [[1], [2, 3], [7], [64], [1000], [stream.length]]) {
      const framer = new MjpegFramer();
      const frames = chunks(stream, sizes).flatMap((c) => framer.push(c));
      expect(frames, `chunk sizes ${sizes}`).toEqual(images);
      expect(framer.stats().garbageBytes).toBe(0);
    }
  });

  it('skips garbage before and between frames and the frames decode', async () => {
    const a = await jpeg(10);
    const b = await jpeg(20);
    const noise = Buffer.from([0x00, 0xff, 0x12, 0xff, 0xd9, 0xff, 0xff, 0x34]);
    const framer = new MjpegFramer();
    const frames = framer.push(Buffer.concat([noise, a, noise, b]));
    expect(frames).toEqual([a, b]);
    expect(framer.stats().garbageBytes).toBe(noise.length * 2);
    const decoded = await codec.decodeResized(frames[1], { width: 24, height: 24 });
    expect(decoded.data.length).toBe(24 * 24 * 3);
  });

  it('is not fooled by a thumbnail JPEG embedded in an APP1 segment', async () => {
    const thumb = await jpeg(5, 8);
    const main = await jpeg(6);
    // APP1 (FF E1) with the thumbnail inside, right after the main image's SOI.
    const app1 = Buffer.concat([Buffer.from([0xff, 0xe1]), Buffer.alloc(2), thumb]);
    app1.writeUInt16BE(thumb.length + 2, 2);
    const withThumb = Buffer.concat([main.subarray(0, 2), app1, main.subarray(2)]);
    const framer = new MjpegFramer();
    expect(framer.push(withThumb)).toEqual([withThumb]);
  });

  it('drops a truncated frame and resynchronises on the next SOI', async () => {
    const a = await jpeg(30);
    const b = await jpeg(40);
    const truncated = a.subarray(0, Math.floor(a.length / 2));
    const framer = new MjpegFramer();
    const frames = framer.push(Buffer.concat([truncated, b]));
    // The truncated frame's scan runs into b's SOI (a marker inside entropy data): only b survives.
    expect(frames).toEqual([b]);
  });

  it('bounds memory: a frame without an end marker is discarded once oversized', async () => {
    const framer = new MjpegFramer(64 * 1024);
    const a = await jpeg(50);
    // SOI + a valid SOS header, then endless entropy bytes with no marker.
    const sos = a.indexOf(Buffer.from([0xff, 0xda]));
    const head = a.subarray(0, sos + 2 + a.readUInt16BE(sos + 2));
    expect(framer.push(head)).toEqual([]);
    for (let i = 0; i < 20; i++) expect(framer.push(Buffer.alloc(8 * 1024, 0x55))).toEqual([]);
    expect(framer.stats().oversized).toBe(1);
    expect(framer.push(a)).toEqual([a]);
  });
});
