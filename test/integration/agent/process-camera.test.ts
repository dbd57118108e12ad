/**
 * The agent's capture-process cameras against real ffmpeg: a lavfi test pattern read through the
 * `ffmpeg` source, an HTTP MJPEG IP camera (a local server relaying ffmpeg's multipart stream) read
 * through the `http-mjpeg` source, the watchdog restarting a killed or stalled capture process, and
 * clear errors for a missing device or command.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CameraConfigSchema, silentLogger } from '@edgeloop/shared';
import { afterAll, describe, expect, it } from 'vitest';
import type { Camera, Frame } from '../../../agent/src/camera/camera.ts';
import { createCamera } from '../../../agent/src/camera/create-camera.ts';
import type { CameraRestart } from '../../../agent/src/camera/frame-capture.ts';
import { ProcessCamera } from '../../../agent/src/camera/process-camera.ts';
import { createSharpImageCodec } from '../../../agent/src/image/sharp-image.ts';
import { FrameLoop } from '../../../agent/src/inference/frame-loop.ts';
import { ActiveModel } from '../../../agent/src/model/active-model.ts';

const codec = createSharpImageCodec();
const TEST_PATTERN = ['-re', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=20'];

async function take(camera: Camera, count: number): Promise<Frame[]> {
  const controller = new AbortController();
  const frames: Frame[] = [];
  for await (const frame of camera.frames(controller.signal)) {
    frames.push(frame);
    if (frames.length === count) controller.abort();
  }
  return frames;
}

async function firstError(camera: Camera): Promise<Error> {
  const controller = new AbortController();
  try {
    for await (const _ of camera.frames(controller.signal)) controller.abort();
  } catch (err) {
    return err as Error;
  }
  throw new Error('camera ended without an error');
}

function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (check()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

describe('ffmpeg capture source', () => {
  it('reads a real MJPEG stream from ffmpeg as whole, decodable, changing frames', async () => {
    const config = CameraConfigSchema.parse({ type: 'ffmpeg', input: TEST_PATTERN });
    const frames = await take(createCamera(config, codec), 4);
    expect(frames).toHaveLength(4);
    const decoded = await Promise.all(
      frames.map((f) => codec.decodeResized(f.image, { width: 160, height: 120 })),
    );
    for (const f of frames) expect(f.mime).toBe('image/jpeg');
    // testsrc moves: consecutive frames are different pictures, not one frame repeated.
    expect(Buffer.compare(Buffer.from(decoded[0].data), Buffer.from(decoded[3].data))).not.toBe(0);
    expect(new Set(frames.map((f) => f.frameId)).size).toBe(4);
  });

  it('reads an HTTP multipart MJPEG IP camera', async () => {
    const children = new Set<ChildProcess>();
    const server: Server = createServer((_req, res) => {
      // What an IP camera does: one multipart/x-mixed-replace response, a JPEG per part.
      const ffmpeg = spawn('ffmpeg', [
        ...['-hide_banner', '-loglevel', 'error', ...TEST_PATTERN],
        ...['-c:v', 'mjpeg', '-q:v', '5', '-f', 'mpjpeg', '-boundary_tag', 'frame', 'pipe:1'],
      ]);
      children.add(ffmpeg);
      res.writeHead(200, { 'content-type': 'multipart/x-mixed-replace;boundary=frame' });
      ffmpeg.stdout.pipe(res);
      res.on('close', () => ffmpeg.kill('SIGKILL'));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const camera = createCamera(
        CameraConfigSchema.parse({ type: 'http-mjpeg', url: `http://127.0.0.1:${port}/video` }),
        codec,
      );
      const frames = await take(camera, 3);
      const rgb = await codec.decodeResized(frames[2].image, { width: 16, height: 12 });
      expect(rgb.data.length).toBe(16 * 12 * 3);
    } finally {
      for (const c of children) c.kill('SIGKILL');
      server.closeAllConnections();
      server.close();
    }
  });

  it('says clearly when the device or the command is missing', async () => {
    const missingDevice = createCamera(
      CameraConfigSchema.parse({ type: 'v4l2', device: '/dev/video-edgeloop-missing' }),
      codec,
    );
    const deviceError = await firstError(missingDevice);
    expect(deviceError.message).toMatch(/v4l2 \/dev\/video-edgeloop-missing: capture process exited/);
    expect(deviceError.message).toMatch(/No such file or directory/);
    expect(deviceError).toMatchObject({ code: 'CAMERA_UNAVAILABLE' });

    const missingCommand = createCamera(CameraConfigSchema.parse({ type: 'rpicam' }), codec);
    expect((await firstError(missingCommand)).message).toMatch(
      /'rpicam-vid' is not installed or not on PATH/,
    );
  });

  it('kills a capture process that stalls', async () => {
    const camera = new ProcessCamera({
      capture: { command: 'sleep', args: ['30'], describe: 'silent camera' },
      stallTimeoutMs: 500,
      maxFrameBytes: 1 << 20,
    });
    const started = Date.now();
    const err = await firstError(camera);
    expect(err.message).toMatch(/silent camera: no frame for 500 ms/);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(camera.pid()).toBeNull(); // the process is gone, not orphaned
  });
});

describe('capture watchdog', () => {
  let loop: FrameLoop | null = null;
  afterAll(async () => {
    await loop?.stop();
  });

  it('restarts a killed capture process with backoff, reports it, and frames flow again', async () => {
    const camera = new ProcessCamera({
      capture: {
        command: 'ffmpeg',
        args: ['-hide_banner', '-loglevel', 'error', ...TEST_PATTERN, '-f', 'mjpeg', 'pipe:1'],
        describe: 'test pattern',
      },
      stallTimeoutMs: 5_000,
      maxFrameBytes: 1 << 20,
    });
    const restarts: { err: Error; restart: CameraRestart }[] = [];
    loop = new FrameLoop({
      camera,
      active: new ActiveModel(silentLogger()),
      codec,
      topK: 1,
      logger: silentLogger(),
      retry: { baseMs: 100, maxMs: 400 },
      onResult: async () => {},
      onCameraError: (err, restart) => restarts.push({ err, restart }),
    });
    loop.start();
    await until(() => loop!.stats().framesCaptured >= 3, 'first frames');
    const firstPid = camera.pid();
    expect(firstPid).not.toBeNull();

    process.kill(firstPid!, 'SIGKILL');
    await until(() => restarts.length === 1, 'the restart report');
    expect(restarts[0].err.message).toMatch(/test pattern: capture process exited \(SIGKILL\)/);
    expect(restarts[0].restart.attempt).toBe(0);
    expect(restarts[0].restart.delayMs).toBeLessThanOrEqual(100);

    const before = loop.stats().framesCaptured;
    await until(() => loop!.stats().framesCaptured >= before + 3, 'frames after the restart');
    expect(camera.pid()).not.toBe(firstPid);
    expect(loop.stats().cameraRestarts).toBe(1);
  });
});
