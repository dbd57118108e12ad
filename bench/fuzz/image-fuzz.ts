/**
 * Images and multipart bodies that try the upload routes (a device's sample, a dataset image):
 * decompression bombs (a PNG declaring 50000x50000, a JPEG declaring 65000x65000, a WebP canvas
 * of 16383x16383), JPEG/PNG/WebP cut at a random byte, random bytes behind an image's magic
 * number, other formats, and multipart bodies that are malformed on purpose (no boundary, the
 * wrong one, cut off, fields twice, a file where text belongs, hostile file names).
 */

import { deflateSync } from 'node:zlib';
import { apiRoutes, routeUrl } from '@edgeloop/shared';
import sharp from 'sharp';
import { int, pick, type Rng, randomString } from './json-values.ts';
import type { Attempt, Recorder } from './recorder.ts';

const BATCH = 20;

function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function pngChunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** A valid-looking PNG whose header declares `width` x `height` (its data is a few bytes). */
export function pngBomb(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(4096))),
    pngChunk('IEND', new Uint8Array()),
  ]);
}

/** `jpeg` with its SOF0 frame header rewritten to claim `width` x `height`. */
function jpegClaiming(jpeg: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(jpeg);
  for (let i = 2; i < out.length - 9; i++) {
    if (out[i] === 0xff && (out[i + 1] === 0xc0 || out[i + 1] === 0xc2)) {
      out.writeUInt16BE(height, i + 5);
      out.writeUInt16BE(width, i + 7);
      break;
    }
  }
  return out;
}

/** A WebP VP8X header declaring a 16383x16383 canvas, with nothing behind it. */
function webpCanvasBomb(): Buffer {
  const vp8x = Buffer.alloc(10);
  vp8x.writeUIntLE(16382, 4, 3);
  vp8x.writeUIntLE(16382, 7, 3);
  const chunk = Buffer.concat([Buffer.from('VP8X'), Buffer.from([10, 0, 0, 0]), vp8x]);
  const riff = Buffer.alloc(12);
  riff.write('RIFF', 0);
  riff.writeUInt32LE(4 + chunk.length, 4);
  riff.write('WEBP', 8);
  return Buffer.concat([riff, chunk]);
}

export interface Seeds {
  jpeg: Buffer;
  png: Buffer;
  webp: Buffer;
}

export async function imageSeeds(): Promise<Seeds> {
  const raw = Buffer.alloc(48 * 48 * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 37) % 251;
  const image = () => sharp(raw, { raw: { width: 48, height: 48, channels: 3 } });
  return {
    jpeg: await image().jpeg().toBuffer(),
    png: await image().png().toBuffer(),
    webp: await image().webp().toBuffer(),
  };
}

/** One hostile image (never a whole, valid one). */
function hostileImage(seeds: Seeds, rng: Rng): { bytes: Buffer; kind: string } {
  const r = rng();
  if (r < 0.15) return { bytes: pngBomb(50_000, 50_000), kind: 'png-bomb' };
  if (r < 0.25) return { bytes: jpegClaiming(seeds.jpeg, 65_000, 65_000), kind: 'jpeg-bomb' };
  if (r < 0.3) return { bytes: webpCanvasBomb(), kind: 'webp-bomb' };
  if (r < 0.75) {
    const format = pick(rng, ['jpeg', 'png', 'webp'] as const);
    const whole = seeds[format];
    return { bytes: whole.subarray(0, int(rng, 0, whole.length - 1)), kind: `truncated-${format}` };
  }
  if (r < 0.9) {
    const magic = pick(rng, [
      seeds.jpeg.subarray(0, 4),
      seeds.png.subarray(0, 16),
      seeds.webp.subarray(0, 16),
    ]);
    const tail = new Uint8Array(int(rng, 0, 4096)).map(() => int(rng, 0, 255));
    return { bytes: Buffer.concat([magic, tail]), kind: 'magic-and-noise' };
  }
  const other = pick(rng, [
    Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1'),
    Buffer.from('BM'),
    Buffer.alloc(0),
  ]);
  return { bytes: other, kind: 'other-format' };
}

function sampleMetadata(rng: Rng): string {
  return JSON.stringify({
    protocol: 1,
    idempotencyKey: `fuzz-${Math.floor(rng() * 2 ** 48).toString(36)}`,
    modelVersion: null,
    frameId: 'fuzz',
    capturedAt: new Date().toISOString(),
    reason: 'low-confidence',
    topK: [{ label: 'cat', confidence: 0.3 }],
  });
}

/** A raw multipart body that is wrong in one way (or a form with a hostile image). */
function multipartCase(
  seeds: Seeds,
  rng: Rng,
  route: 'sample' | 'dataset',
): { body: Buffer; type: string; kind: string } {
  const boundary = `----fuzz${int(rng, 0, 1e9)}`;
  const textField = route === 'sample' ? 'metadata' : 'label';
  const textValue = route === 'sample' ? sampleMetadata(rng) : 'cat';
  const part = (name: string, value: Buffer | string, filename?: string) =>
    Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${filename === undefined ? '' : `; filename="${filename}"`}\r\n` +
          `${filename === undefined ? '' : 'Content-Type: application/octet-stream\r\n'}\r\n`,
      ),
      Buffer.from(value),
      Buffer.from('\r\n'),
    ]);
  const image = hostileImage(seeds, rng);
  const whole = (parts: Buffer[]) => Buffer.concat([...parts, Buffer.from(`--${boundary}--\r\n`)]);
  const good = [part(textField, textValue), part('image', image.bytes, 'frame.png')];
  const r = rng();
  const type = `multipart/form-data; boundary=${boundary}`;
  if (r < 0.5) return { body: whole(good), type, kind: image.kind };
  if (r < 0.58) return { body: whole(good), type: 'multipart/form-data', kind: 'no-boundary' };
  if (r < 0.66)
    return { body: whole(good), type: `multipart/form-data; boundary=${boundary}x`, kind: 'wrong-boundary' };
  if (r < 0.74) {
    const body = whole([part(textField, textValue), part('image', seeds.png, 'frame.png')]);
    return { body: body.subarray(0, int(rng, 0, body.length - 10)), type, kind: 'cut-off' };
  }
  if (r < 0.8)
    return {
      body: whole([...good, part(textField, '{}'), part('image', seeds.jpeg, 'b.jpg')]),
      type,
      kind: 'fields-twice',
    };
  if (r < 0.86)
    return {
      body: whole([part(textField, textValue), part('image', 'not a file')]),
      type,
      kind: 'text-for-file',
    };
  if (r < 0.92) {
    const name = pick(rng, [
      '../../etc/passwd',
      'a"\r\nX-Injected: 1',
      randomString(rng).slice(0, 500),
      '\u0000.png',
    ]);
    return {
      body: whole([part(textField, textValue), part('image', image.bytes, name)]),
      type,
      kind: 'hostile-filename',
    };
  }
  return {
    body: whole([
      part(randomString(rng).slice(0, 100) || 'x', textValue),
      part('image', image.bytes, 'a.png'),
    ]),
    type,
    kind: 'unknown-field',
  };
}

export async function fuzzUploads(
  callers: { baseUrl: string; adminToken: string; device: { deviceId: string; secret: string } },
  recorder: Recorder,
  rng: Rng,
  budget: number,
): Promise<void> {
  const seeds = await imageSeeds();
  const basic = `Basic ${Buffer.from(`${callers.device.deviceId}:${callers.device.secret}`).toString('base64')}`;
  const routes = [
    {
      route: 'sample' as const,
      url: `${callers.baseUrl}${routeUrl(apiRoutes.uploadSample, {})}`,
      auth: basic,
    },
    {
      route: 'dataset' as const,
      url: `${callers.baseUrl}${routeUrl(apiRoutes.addDatasetImage, { name: 'fuzz' })}`,
      auth: `Bearer ${callers.adminToken}`,
    },
  ];
  const perRoute = Math.max(1, Math.ceil(budget / routes.length));
  for (const { route, url, auth } of routes) {
    for (let done = 0; done < perRoute; done += BATCH) {
      const sends = Array.from(
        { length: Math.min(BATCH, perRoute - done) },
        () => async (): Promise<Attempt> => {
          const c = multipartCase(seeds, rng, route);
          try {
            const res = await fetch(url, {
              method: 'POST',
              headers: { authorization: auth, 'content-type': c.type },
              body: c.body,
            });
            await res.arrayBuffer();
            return {
              rejected: res.status >= 400,
              unexpected: res.status >= 500 ? `${route} upload (${c.kind}) -> ${res.status}` : null,
            };
          } catch (err) {
            return { rejected: true, unexpected: `${route} upload (${c.kind}): ${(err as Error).message}` };
          }
        },
      );
      await recorder.batch(`upload ${route}`, sends);
    }
  }
}
