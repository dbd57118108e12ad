/**
 * Capture and its watchdog on their own (camera/frame-capture.ts): the newest frame wins the slot,
 * a failing camera is restarted with backoff and reported, a source that ends ends capture.
 */
import { createLogger } from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import type { Camera, Frame } from '../../../agent/src/camera/camera.ts';
import { type CameraRestart, FrameCapture } from '../../../agent/src/camera/frame-capture.ts';

const logger = createLogger({ level: 'silent', name: 'test' });
const frame = (n: number): Frame => ({
  frameId: `f${n}`,
  capturedAt: new Date(0).toISOString(),
  image: Buffer.from([n]),
  mime: 'image/jpeg',
});

/** A camera whose `frames` runs the next script each time it is (re)started. */
function scriptedCamera(
  scripts: ((signal: AbortSignal) => AsyncGenerator<Frame>)[],
): Camera & { starts: number } {
  const camera = {
    starts: 0,
    frames(signal: AbortSignal) {
      const script = scripts[Math.min(camera.starts++, scripts.length - 1)];
      return script(signal);
    },
  };
  return camera;
}

describe('frame capture', () => {
  it('restarts a failing camera with backoff, reports each failure, then delivers frames again', async () => {
    const restarts: CameraRestart[] = [];
    const camera = scriptedCamera([
      // biome-ignore lint/correctness/useYield: a camera that fails before its first frame
      async function* () {
        throw new Error('device busy');
      },
      async function* () {
        yield frame(1);
        throw new Error('cable pulled');
      },
      async function* () {
        yield frame(2);
        yield frame(3);
      },
    ]);
    const capture = new FrameCapture({
      camera,
      logger,
      retry: { baseMs: 5, maxMs: 20 },
      onCameraError: (_err, restart) => restarts.push(restart),
    });
    const abort = new AbortController();
    await capture.run(abort.signal);
    expect(camera.starts).toBe(3);
    expect(restarts.map((r) => r.attempt)).toEqual([0, 0]);
    expect(capture.counts()).toEqual({ framesCaptured: 3, framesDropped: 2, cameraRestarts: 2 });
    // Only the newest frame is in the slot; once taken, the ended capture gives null.
    expect((await capture.take(abort.signal))?.frame.frameId).toBe('f3');
    expect(await capture.take(abort.signal)).toBeNull();
    expect(capture.latestFrame()?.frameId).toBe('f3');
  });

  it('wakes a waiting taker with null when stopped', async () => {
    const camera = scriptedCamera([
      async function* (signal) {
        await new Promise((resolve) => signal.addEventListener('abort', resolve));
      },
    ]);
    const capture = new FrameCapture({ camera, logger, retry: { baseMs: 5, maxMs: 20 }, onCameraError() {} });
    const abort = new AbortController();
    const running = capture.run(abort.signal);
    const taken = capture.take(abort.signal);
    abort.abort();
    expect(await taken).toBeNull();
    await running;
  });
});
