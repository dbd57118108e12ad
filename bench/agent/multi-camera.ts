/**
 * `bench agent --cameras N`: N cameras on one model session, as the agent runs them (one FrameLoop
 * per camera, one shared ActiveModel, turns from a FairScheduler), against one camera alone on the
 * same model, frames and machine. The sources run at different rates, all faster than the model
 * (the first at --camera-fps, each next one at half the previous, at least 60 fps), so a fast one
 * would take more than its share if the scheduling were not fair.
 *
 * Measured in rounds, each one camera alone then the N together, so a change in the machine's load
 * during the run biases neither. Latency is frame taken → model answer (result.latencyMs).
 * Targets: totalFps ≈ singleCameraFps (the model is the limit, and it is shared, not lost), and
 * every camera's fps ≥ 80% of the cameras' mean (minVsMean ≥ 0.8).
 */
import os from 'node:os';
import { silentLogger } from '@edgeloop/shared';
import type { ImageCodec } from '../../agent/src/image/image-codec.ts';
import { FairScheduler } from '../../agent/src/inference/fair-scheduler.ts';
import { FrameLoop } from '../../agent/src/inference/frame-loop.ts';
import type { ActiveModel } from '../../agent/src/model/active-model.ts';
import { sleep } from '../../agent/src/util/backoff.ts';
import { percentile, ReplayCamera } from './fixtures.ts';

export interface CamerasBenchOptions {
  cameras: number;
  seconds: number;
  cameraFps: number;
  images: Buffer[];
  active: ActiveModel;
  codec: ImageCodec;
}

interface Tally {
  frames: number;
  latencies: number[];
}

const round = (v: number) => Math.round(v * 100) / 100;

/** Runs `count` cameras for `ms` (after 300 ms to settle) and adds their results to `tallies`. */
async function runCameras(o: CamerasBenchOptions, rates: number[], ms: number, tallies: Tally[]) {
  const scheduler = new FairScheduler();
  let measuring = false;
  const loops = rates.map(
    (fps, i) =>
      new FrameLoop({
        camera: new ReplayCamera(o.images, fps),
        active: o.active,
        codec: o.codec,
        topK: 5,
        logger: silentLogger(),
        retry: { baseMs: 100, maxMs: 1000 },
        scheduler,
        cameraId: `cam-${i}`,
        onResult: async (result) => {
          if (!measuring) return;
          tallies[i].frames++;
          tallies[i].latencies.push(result.latencyMs);
        },
        onCameraError: (err) => {
          throw err;
        },
      }),
  );
  for (const loop of loops) loop.start();
  await sleep(300);
  measuring = true;
  const started = performance.now();
  await sleep(ms);
  measuring = false;
  const elapsed = performance.now() - started;
  await Promise.all(loops.map((l) => l.stop()));
  return elapsed;
}

export async function benchCameras(o: CamerasBenchOptions) {
  const rates = Array.from({ length: o.cameras }, (_, i) => Math.max(60, o.cameraFps / 2 ** i));
  const tally = (): Tally => ({ frames: 0, latencies: [] });
  const single = [tally()];
  const multi = rates.map(tally);
  const loadAverage = os.loadavg()[0];

  // Warm-up (JIT, allocator pools, onnxruntime's first runs).
  await runCameras(o, rates, Math.min(5, Math.max(2, o.seconds * 0.1)) * 1000, rates.map(tally));

  const rounds = Math.max(2, Math.round(o.seconds / 15));
  const span = (o.seconds * 1000) / rounds / 2;
  let singleMs = 0;
  let multiMs = 0;
  for (let r = 0; r < rounds; r++) {
    singleMs += await runCameras(o, [o.cameraFps], span, single);
    multiMs += await runCameras(o, rates, span, multi);
  }

  const perCamera = multi.map((t, i) => ({
    cameraId: `cam-${i}`,
    sourceFps: round(rates[i]),
    fps: round(t.frames / (multiMs / 1000)),
    p50Ms: round(percentile(t.latencies, 50)),
  }));
  const totalFps = round(perCamera.reduce((sum, c) => sum + c.fps, 0));
  const meanFps = totalFps / perCamera.length;
  const singleCameraFps = round(single[0].frames / (singleMs / 1000));
  return {
    cameras: o.cameras,
    perCamera,
    totalFps,
    singleCameraFps,
    singleCameraP50Ms: round(percentile(single[0].latencies, 50)),
    /** totalFps / singleCameraFps: ~1 when sharing costs nothing. */
    totalVsSingle: round(totalFps / singleCameraFps),
    /** The slowest camera's fps / the mean: ≥ 0.8 is the fairness target. */
    minVsMean: round(Math.min(...perCamera.map((c) => c.fps)) / meanFps),
    rounds,
    seconds: round((singleMs + multiMs) / 1000),
    cpus: os.availableParallelism(),
    loadAverage1m: round(loadAverage),
  };
}
