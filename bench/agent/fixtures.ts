/** What the agent benchmarks share: the reference model, its manifest, real MJPEG frames, a replaying camera. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type Manifest, ManifestSchema, PROTOCOL_VERSION } from '@edgeloop/shared';
import type { Camera, Frame } from '../../agent/src/camera/camera.ts';
import { MjpegFramer } from '../../agent/src/camera/mjpeg-framer.ts';
import { sleep } from '../../agent/src/util/backoff.ts';

export const MODEL = fileURLToPath(
  new URL('../../../shared/data/reference/mobilenetv2-12-int8.onnx', import.meta.url),
);
export const WIDTH = 640;
export const HEIGHT = 480;

/** Real MJPEG from ffmpeg's test pattern, cut by the agent's own framer. */
export function mjpegFrames(count: number): Buffer[] {
  const out = spawnSync(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi'],
      ...['-i', `testsrc2=size=${WIDTH}x${HEIGHT}:rate=30`, '-frames:v', String(count)],
      ...['-c:v', 'mjpeg', '-q:v', '5', '-pix_fmt', 'yuvj420p', '-f', 'mjpeg', 'pipe:1'],
    ],
    { maxBuffer: 256 * 1024 * 1024 },
  );
  if (out.status !== 0)
    throw new Error(`ffmpeg failed (is it installed?): ${out.stderr?.toString() ?? out.error}`);
  return new MjpegFramer().push(out.stdout);
}

export function manifest(): Manifest {
  return ManifestSchema.parse({
    protocol: PROTOCOL_VERSION,
    name: 'mobilenetv2-12-int8',
    modelVersion: 1,
    createdAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
    architecture: { family: 'mobilenet-v2', alpha: 1, inputSize: 224, quantization: 'int8' },
    labels: Array.from({ length: 1000 }, (_, i) => `imagenet-${i}`),
    input: {
      name: 'input',
      dtype: 'float32',
      layout: 'NCHW',
      width: 224,
      height: 224,
      channels: 3,
      normalization: { kind: 'mean-std', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
    },
    output: { name: 'output', kind: 'logits' },
    files: [{ name: 'model.onnx', role: 'model', sha256: '0'.repeat(64), bytes: 1 }],
  });
}

/** A camera faster than the pipeline, replaying the frames from memory (the frame policy drops the rest). */
export class ReplayCamera implements Camera {
  constructor(
    private readonly images: Buffer[],
    private readonly fps: number,
  ) {}

  async *frames(signal: AbortSignal): AsyncIterable<Frame> {
    for (let i = 0; !signal.aborted; i++) {
      if (!(await sleep(1000 / this.fps, signal))) return;
      const image = this.images[i % this.images.length];
      yield { frameId: `bench-${i}`, capturedAt: new Date().toISOString(), image, mime: 'image/jpeg' };
    }
  }
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
