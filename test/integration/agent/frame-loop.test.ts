/**
 * The frame loop with a real onnxruntime session (tiny red/blue model) and sharp: region of
 * interest, motion gating, the rate cap, and the local HTTP endpoint showing what the loop saw.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FramePolicySchema,
  ManifestSchema,
  PROTOCOL_VERSION,
  type Prediction,
  silentLogger,
} from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Camera, Frame } from '../../../agent/src/camera/camera.ts';
import { LocalEndpoint } from '../../../agent/src/comms/local-endpoint.ts';
import { createSharpImageCodec } from '../../../agent/src/image/sharp-image.ts';
import { FrameLoop, type FrameResult } from '../../../agent/src/inference/frame-loop.ts';
import { createOnnxBackend } from '../../../agent/src/inference/onnx-backend.ts';
import { ActiveModel, type LoadedModel, loadModel } from '../../../agent/src/model/active-model.ts';
import { sleep } from '../../../agent/src/util/backoff.ts';
import { testManifest } from '../../helpers/manifest-fixture.ts';
import { redBlueClassifier } from '../../helpers/tiny-onnx.ts';

const codec = createSharpImageCodec();
const logger = silentLogger();
let dir: string;
let active: ActiveModel;

/** 64×32 JPEG: left half `left`, right half `right`. */
async function split(left: [number, number, number], right: [number, number, number]): Promise<Buffer> {
  const data = new Uint8Array(64 * 32 * 3);
  for (let y = 0; y < 32; y++) for (let x = 0; x < 64; x++) data.set(x < 32 ? left : right, (y * 64 + x) * 3);
  return codec.encodeJpeg({ width: 64, height: 32, data }, 95);
}

/** Yields `next()` at `fps` until aborted. */
class ScriptedCamera implements Camera {
  constructor(
    private readonly next: (i: number) => Buffer,
    private readonly fps: number,
  ) {}
  async *frames(signal: AbortSignal): AsyncIterable<Frame> {
    for (let i = 0; await sleep(1000 / this.fps, signal); i++) {
      yield {
        frameId: `f${i}`,
        capturedAt: new Date().toISOString(),
        image: this.next(i),
        mime: 'image/jpeg',
      };
    }
  }
}

async function run(camera: Camera, policy: Record<string, unknown>, ms: number) {
  const results: FrameResult[] = [];
  const loop = new FrameLoop({
    camera,
    active,
    codec,
    topK: 2,
    logger,
    retry: { baseMs: 50, maxMs: 100 },
    policy: FramePolicySchema.parse(policy),
    onResult: async (r) => {
      results.push(r);
    },
    onCameraError: (err) => {
      throw err;
    },
  });
  loop.start();
  await sleep(ms);
  await loop.stop();
  return { results, stats: loop.stats(), loop };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgeloop-loop-'));
  const model = redBlueClassifier({ k: 0.05 });
  await writeFile(join(dir, 'model.onnx'), model);
  active = new ActiveModel(logger);
  const manifest = ManifestSchema.parse(testManifest(model));
  await active.swap(await loadModel(createOnnxBackend(), join(dir, 'model.onnx'), manifest, 1, 'a'));
});
afterAll(async () => {
  await active.close();
  await rm(dir, { recursive: true, force: true });
});

describe('frame loop policy', () => {
  it('classifies only the region of interest', async () => {
    const frame = await split([230, 20, 20], [20, 20, 230]);
    const camera = new ScriptedCamera(() => frame, 50);
    const left = await run(camera, { roi: { x: 0, y: 0, width: 0.5, height: 1 } }, 600);
    const right = await run(camera, { roi: { x: 0.5, y: 0, width: 0.5, height: 1 } }, 600);
    expect(left.results.length).toBeGreaterThan(0);
    expect(left.results.every((r) => r.topK[0].label === 'red')).toBe(true);
    expect(right.results.every((r) => r.topK[0].label === 'blue' && r.topK[0].confidence > 0.9)).toBe(true);
  });

  it('skips inference while the scene is static and resumes when it changes', async () => {
    const red = await split([230, 20, 20], [230, 20, 20]);
    const blue = await split([20, 20, 230], [20, 20, 230]);
    // 40 fps: red for the first 30 frames (~0.75 s), then blue.
    const camera = new ScriptedCamera((i) => (i < 30 ? red : blue), 40);
    const { results, stats } = await run(camera, { motion: { enabled: true, threshold: 4 } }, 1_500);
    expect(results.map((r) => r.topK[0].label)).toEqual(['red', 'blue']);
    expect(stats.framesStatic).toBeGreaterThan(3);
  });

  it('caps the classification rate and keeps only the newest frame', async () => {
    const frame = await split([230, 20, 20], [20, 20, 230]);
    const { stats } = await run(new ScriptedCamera(() => frame, 100), { maxFps: 5 }, 1_200);
    expect(stats.framesProcessed).toBeGreaterThanOrEqual(2);
    expect(stats.framesProcessed).toBeLessThanOrEqual(8);
    expect(stats.framesDropped).toBeGreaterThan(20);
  });
});

describe('reporting', () => {
  it('reports one result at a time, in order, while the next frame is already being classified', async () => {
    const frame = await split([230, 20, 20], [20, 20, 230]);
    // Inference starts as the model sees them, and each report's start and end.
    const inferStarts: number[] = [];
    class WatchedModel extends ActiveModel {
      override use<T>(fn: (model: LoadedModel) => Promise<T>) {
        inferStarts.push(performance.now());
        return super.use(fn);
      }
    }
    const watched = new WatchedModel(logger);
    const manifest = ManifestSchema.parse(testManifest(redBlueClassifier({ k: 0.05 })));
    await watched.swap(await loadModel(createOnnxBackend(), join(dir, 'model.onnx'), manifest, 1, 'a'));
    const reports: { frameId: string; start: number; end: number }[] = [];
    const loop = new FrameLoop({
      camera: new ScriptedCamera(() => frame, 200),
      active: watched,
      codec,
      topK: 2,
      logger,
      retry: { baseMs: 50, maxMs: 100 },
      // A slow consumer (publish, sample capture): 30 ms against a model that answers in ~1 ms.
      onResult: async (r) => {
        const start = performance.now();
        await sleep(30);
        reports.push({ frameId: r.frame.frameId, start, end: performance.now() });
      },
      onCameraError: (err) => {
        throw err;
      },
    });
    try {
      loop.start();
      await sleep(800);
    } finally {
      await loop.stop();
      await watched.close();
    }
    expect(reports.length).toBeGreaterThan(5);
    const ids = reports.map((r) => Number(r.frameId.slice(1)));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    for (let j = 1; j < reports.length; j++)
      expect(reports[j].start).toBeGreaterThanOrEqual(reports[j - 1].end);
    // Inference j+1 began before report j ended: the model does not idle through a report.
    const overlapped = reports.slice(0, -1).filter((r, j) => inferStarts[j + 1] < r.end).length;
    expect(overlapped).toBe(reports.length - 1);
  });
});

describe('local endpoint', () => {
  it('shows health, the model, the last prediction and the last frame', async () => {
    const frame = await split([20, 20, 230], [20, 20, 230]);
    let last: Prediction | null = null;
    const loop = new FrameLoop({
      camera: new ScriptedCamera(() => frame, 20),
      active,
      codec,
      topK: 2,
      logger,
      retry: { baseMs: 50, maxMs: 100 },
      onResult: async (r) => {
        last = {
          protocol: PROTOCOL_VERSION,
          modelVersion: r.modelVersion,
          frameId: r.frame.frameId,
          capturedAt: r.frame.capturedAt,
          topK: r.topK,
          latencyMs: r.latencyMs,
        };
      },
      onCameraError: () => {},
    });
    const endpoint = await LocalEndpoint.start(
      {
        deviceId: 'cam-local',
        manifest: () => active.get()?.manifest ?? null,
        lastPrediction: () => last,
        latestFrame: () => loop.latestFrame(),
        toJpeg: (f) => codec.toJpeg(f.image, f.mime),
        health: () => ({
          fps: loop.stats().fps,
          latencyP50Ms: loop.stats().latencyP50Ms,
          latencyP95Ms: loop.stats().latencyP95Ms,
          framesDropped: 0,
          cameraRestarts: 0,
          queueDepth: 0,
          evictions: 0,
          uptimeS: 1,
          cpuTemperatureC: null,
        }),
        mqttConnected: () => false,
      },
      { host: '127.0.0.1', port: 0, logger },
    );
    try {
      expect((await fetch(`${endpoint.url}/prediction`)).status).toBe(404);
      loop.start();
      for (let i = 0; i < 200 && !last; i++) await sleep(50);
      const health = (await (await fetch(`${endpoint.url}/health`)).json()) as Record<string, unknown>;
      expect(health).toMatchObject({
        ok: true,
        deviceId: 'cam-local',
        modelVersion: 1,
        mqttConnected: false,
      });
      expect((health.health as { latencyP50Ms: number }).latencyP50Ms).toBeGreaterThan(0);
      const model = (await (await fetch(`${endpoint.url}/model`)).json()) as { labels: string[] };
      expect(model.labels).toEqual(['red', 'blue']);
      const prediction = (await (await fetch(`${endpoint.url}/prediction`)).json()) as Prediction;
      expect(prediction.topK[0].label).toBe('blue');
      const jpeg = await fetch(`${endpoint.url}/frame.jpg`);
      expect(jpeg.headers.get('content-type')).toBe('image/jpeg');
      const image = Buffer.from(await jpeg.arrayBuffer());
      expect((await codec.decodeResized(image, { width: 8, height: 8 })).data[2]).toBeGreaterThan(180);
      expect((await fetch(`${endpoint.url}/health`, { method: 'POST' })).status).toBe(405);
    } finally {
      await loop.stop();
      await endpoint.close();
    }
  });
});
