import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syntheticFrameId, syntheticScene } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Camera, Frame } from '../../../agent/src/camera/camera.ts';
import { createCamera } from '../../../agent/src/camera/create-camera.ts';
import { FolderCamera } from '../../../agent/src/camera/folder-camera.ts';
import { SyntheticCamera } from '../../../agent/src/camera/synthetic-camera.ts';
import { createSharpImageCodec } from '../../../agent/src/image/sharp-image.ts';

const codec = createSharpImageCodec();

async function take(camera: Camera, count: number): Promise<Frame[]> {
  const controller = new AbortController();
  const frames: Frame[] = [];
  for await (const frame of camera.frames(controller.signal)) {
    frames.push(frame);
    if (frames.length === count) controller.abort();
  }
  return frames;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgeloop-camera-'));
  const gray = { width: 16, height: 16, data: new Uint8Array(16 * 16 * 3).fill(128) };
  await writeFile(join(dir, 'b.png'), await codec.encodePng(gray));
  await writeFile(join(dir, 'a.jpg'), await codec.encodeJpeg(gray));
  await writeFile(join(dir, 'notes.txt'), 'not an image');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('SyntheticCamera', () => {
  it('delivers JPEG-encoded synthetic scenes whose ids recompute the scene', async () => {
    const options = { width: 48, height: 32, fps: 100, seed: 7, difficulty: 0.2 };
    const frames = await take(new SyntheticCamera(options, codec), 3);
    expect(frames.map((f) => f.frameId)).toEqual([0, 1, 2].map((i) => syntheticFrameId(7, i)));
    expect(frames[0].mime).toBe('image/jpeg');
    expect([...frames[0].image.subarray(0, 2)]).toEqual([0xff, 0xd8]);
    // The decoded frame is the scene (up to JPEG loss).
    const decoded = await codec.decodeResized(frames[1].image, { width: 48, height: 32 });
    const meanAbsDiff = (a: Uint8Array, b: Uint8Array) =>
      a.reduce((sum, v, i) => sum + Math.abs(v - b[i]), 0) / a.length;
    const own = meanAbsDiff(syntheticScene(7, 1, options).data, decoded.data);
    const other = meanAbsDiff(syntheticScene(7, 2, options).data, decoded.data);
    // Small noisy frames lose detail to JPEG, but the frame is far closer to its own scene.
    expect(own).toBeLessThan(25);
    expect(own).toBeLessThan(other / 2);
  });

  it('is paced by fps', async () => {
    const started = performance.now();
    await take(new SyntheticCamera({ width: 16, height: 16, fps: 20, seed: 1, difficulty: 0 }, codec), 4);
    // Frames at 0, 50, 100, 150 ms.
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });
});

describe('FolderCamera', () => {
  it('plays image files in name order, ids are file names, loops when asked', async () => {
    const frames = await take(new FolderCamera({ path: dir, fps: 100, loop: true }), 5);
    expect(frames.map((f) => f.frameId)).toEqual(['a.jpg', 'b.png', 'a.jpg', 'b.png', 'a.jpg']);
    expect(frames[1].mime).toBe('image/png');
  });

  it('replays only the files a glob on the file name matches', async () => {
    const frames = await take(new FolderCamera({ path: join(dir, '*.png'), fps: 100, loop: false }), 10);
    expect(frames.map((f) => f.frameId)).toEqual(['b.png']);
    await expect(
      take(new FolderCamera({ path: join(dir, 'z?.jpg'), fps: 100, loop: false }), 1),
    ).rejects.toThrow(/no jpg\/png\/webp images/);
  });

  it('ends after one pass without loop', async () => {
    const frames = await take(new FolderCamera({ path: dir, fps: 100, loop: false }), 10);
    expect(frames.map((f) => f.frameId)).toEqual(['a.jpg', 'b.png']);
  });

  it('is chosen by the config type', () => {
    expect(createCamera({ type: 'folder', path: dir, fps: 2, loop: true }, codec)).toBeInstanceOf(
      FolderCamera,
    );
    expect(
      createCamera({ type: 'synthetic', width: 16, height: 16, fps: 5, seed: 1, difficulty: 0.5 }, codec),
    ).toBeInstanceOf(SyntheticCamera);
  });
});
