/**
 * The live frame: a real sharp thumbnail (never wider than asked, never enlarged) that passes the
 * shared schema, at most one per interval, none when the interval is 0; and the control plane's
 * in-memory copy keeps one frame per device and drops the least recently updated device first.
 */
import { createLogger, type LiveFrame, LiveFrameSchema, PROTOCOL_VERSION } from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import { LiveFramePublisher } from '../../../agent/src/comms/live-frame-publisher.ts';
import { createSharpImageCodec } from '../../../agent/src/image/sharp-image.ts';
import { createLiveFrames } from '../../../control-plane/src/devices/live-frames.ts';

const codec = createSharpImageCodec();
const silent = createLogger({ level: 'silent' });
const topK = [{ label: 'red', confidence: 0.8 }];

async function frame(width: number, height: number, frameId = 'f-1') {
  const data = new Uint8Array(width * height * 3).map((_, i) => (i * 37) % 256);
  return {
    frameId,
    capturedAt: new Date().toISOString(),
    image: await codec.encodePng({ width, height, data }),
    mime: 'image/png' as const,
  };
}

describe('live frame publisher', () => {
  it('sends a schema-valid JPEG thumbnail at most once per interval', async () => {
    const sent: LiveFrame[] = [];
    const publisher = new LiveFramePublisher(
      { intervalSeconds: 10, maxWidth: 64, quality: 70 },
      codec,
      (f) => sent.push(f),
      silent,
    );
    expect(await publisher.offer(await frame(200, 100), topK, 3, 1_000)).toBe(true);
    expect(await publisher.offer(await frame(200, 100, 'f-2'), topK, 3, 5_000)).toBe(false);
    expect(await publisher.offer(await frame(40, 30, 'f-3'), topK, 3, 11_000)).toBe(true);
    expect(sent.map((f) => LiveFrameSchema.parse(f))).toHaveLength(2);
    expect(sent[0]).toMatchObject({ protocol: PROTOCOL_VERSION, frameId: 'f-1', modelVersion: 3, topK });
    expect([sent[0].width, sent[0].height]).toEqual([64, 32]); // aspect kept
    expect([sent[1].width, sent[1].height]).toEqual([40, 30]); // never enlarged
    expect(Buffer.from(sent[0].jpeg, 'base64').subarray(0, 2).toString('hex')).toBe('ffd8');
  });

  it('sends nothing when turned off', async () => {
    const sent: LiveFrame[] = [];
    const off = new LiveFramePublisher(
      { intervalSeconds: 0, maxWidth: 64, quality: 70 },
      codec,
      (f) => sent.push(f),
      silent,
    );
    expect(await off.offer(await frame(20, 20), topK, 1)).toBe(false);
    expect(sent).toEqual([]);
  });

  it('keeps one frame per device in memory, evicting the least recently updated', () => {
    const frames = createLiveFrames({ maxDevices: 2 });
    const at = new Date().toISOString();
    const live = (frameId: string): LiveFrame => ({
      protocol: PROTOCOL_VERSION,
      frameId,
      capturedAt: at,
      modelVersion: null,
      topK,
      width: 1,
      height: 1,
      jpeg: Buffer.from([0xff, 0xd8]).toString('base64'),
    });
    frames.put('cam-a', live('a1'), at);
    frames.put('cam-b', live('b1'), at);
    frames.put('cam-a', live('a2'), at); // cam-a is now the most recent
    frames.put('cam-c', live('c1'), at);
    expect(frames.size()).toBe(2);
    expect(frames.get('cam-b')).toBeNull();
    expect(frames.get('cam-a')?.frameId).toBe('a2');
    expect(frames.get('cam-c')?.jpeg.equals(Buffer.from([0xff, 0xd8]))).toBe(true);
  });

  it("keeps one frame per camera of a device; without a camera, the device's newest", () => {
    const frames = createLiveFrames();
    const at = new Date().toISOString();
    const live = (frameId: string, cameraId?: string): LiveFrame => ({
      protocol: PROTOCOL_VERSION,
      frameId,
      capturedAt: at,
      modelVersion: 1,
      topK,
      width: 1,
      height: 1,
      jpeg: Buffer.from([0xff, 0xd8]).toString('base64'),
      cameraId,
    });
    frames.put('cam-a', live('front-1', 'front'), at);
    frames.put('cam-a', live('yard-1', 'yard'), at);
    frames.put('cam-a', live('front-2', 'front'), at);
    expect(frames.get('cam-a', 'yard')?.frameId).toBe('yard-1');
    expect(frames.get('cam-a', 'front')?.frameId).toBe('front-2');
    expect(frames.get('cam-a')?.frameId).toBe('front-2');
    expect(frames.get('cam-a', 'garage')).toBeNull();
    expect(frames.list('cam-a').map((f) => f.cameraId)).toEqual(['front', 'yard']);
    // An agent that does not name its camera: filed under 'default'.
    frames.put('cam-b', live('b1'), at);
    expect(frames.get('cam-b', 'default')?.frameId).toBe('b1');
    expect(frames.size()).toBe(2);
  });
});
