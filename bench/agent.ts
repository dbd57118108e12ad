/**
 * Agent pipeline benchmark: 640×480 MJPEG frames → the agent's frame loop (sharp decode + resize,
 * tensor, onnxruntime, top-k) → a real MQTT publish through the agent's MqttLink to an aedes broker
 * in its own process (as on a site: the control plane's broker is never inside the agent), which
 * stamps each prediction as it receives the PUBLISH. Latency runs from taking the frame to that
 * stamp. Model: the ONNX-zoo MobileNetV2 1.0 224 int8 (float32 NCHW input with ImageNet mean/std,
 * so it exercises InputSpec normalisation).
 *
 *   npx edgeloop bench agent [--json] [--minutes 0.5] [--threads 1] [--camera-fps 250]
 *   npx edgeloop bench agent --cameras 4 [--json] [--minutes 0.5]   (see agent/multi-camera.ts)
 *
 * The floor is measured in the same run on the same frames: sharp's decode-and-resize alone plus
 * onnxruntime's run alone, one after another, per frame; floorP50Ms is the median of those per-frame
 * sums, as p50Ms is the median of per-frame latencies. Prints
 *   {fps, p50Ms, p95Ms, floorP50Ms, latencyRatio, sequentialFps, rssGrowthPct, …}
 * Targets (2-core machine): latencyRatio ≤ 1.15; fps > sequentialFps (pipelining); rssGrowthPct < 5
 * over `--minutes 10`.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PROTOCOL_VERSION, silentLogger } from '@edgeloop/shared';
import { MqttLink } from '../agent/src/comms/mqtt-link.ts';
import { createSharpImageCodec } from '../agent/src/image/sharp-image.ts';
import { FrameLoop, type FrameStages } from '../agent/src/inference/frame-loop.ts';
import { createOnnxBackend } from '../agent/src/inference/onnx-backend.ts';
import { tensorFromRgb } from '../agent/src/inference/preprocess.ts';
import { ActiveModel, loadModel } from '../agent/src/model/active-model.ts';
import { sleep } from '../agent/src/util/backoff.ts';
import { HEIGHT, MODEL, manifest, mjpegFrames, percentile, ReplayCamera, WIDTH } from './agent/fixtures.ts';
import { benchCameras } from './agent/multi-camera.ts';

/** Frames per floor batch (the first 10 warm up); one batch before each round and one after. */
const FLOOR_FRAMES = 150;

/** process.hrtime in ms: CLOCK_MONOTONIC, comparable with the broker process's stamps. */
const hrMs = () => Number(process.hrtime.bigint()) / 1e6;

interface BrokerProcess {
  url: string;
  onArrival(listener: (frameId: string, atMs: number) => void): void;
  stop(): Promise<void>;
}

async function startBrokerProcess(deviceId: string): Promise<BrokerProcess> {
  const script = fileURLToPath(new URL('./agent/broker-process.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, deviceId], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const listeners: ((frameId: string, atMs: number) => void)[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`broker process exited (${code}) before it was ready`)));
    createInterface({ input: child.stdout! }).on('line', (text) => {
      const line = JSON.parse(text) as { port?: number; arrivals?: [string, number][] };
      if (line.port !== undefined) resolve(line.port);
      for (const [frameId, at] of line.arrivals ?? []) for (const l of listeners) l(frameId, at);
    });
  });
  return {
    url: `mqtt://127.0.0.1:${port}`,
    onArrival: (listener) => listeners.push(listener),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const round = (v: number) => Math.round(v * 100) / 100;

export async function benchMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: 'boolean', default: false },
      minutes: { type: 'string', default: '0.5' },
      threads: { type: 'string', default: '1' },
      'camera-fps': { type: 'string', default: '250' },
      cameras: { type: 'string' },
    },
  });
  const seconds = Number(values.minutes) * 60;
  const threads = Number(values.threads);
  if (!existsSync(MODEL)) throw new Error(`reference model missing: ${MODEL}`);
  const images = mjpegFrames(60);
  const codec = createSharpImageCodec();
  const backend = createOnnxBackend();
  const spec = manifest();
  const model = await loadModel(backend, MODEL, spec, threads, 'a');

  if (values.cameras !== undefined) {
    // Several cameras sharing the model (bench/agent/multi-camera.ts).
    const cameras = Number(values.cameras);
    if (!Number.isInteger(cameras) || cameras < 1 || cameras > 16)
      throw new Error('--cameras takes an integer from 1 to 16');
    // The inference worker is unref'd while idle (it never holds a device's process up), and this
    // path has no socket open: this timer holds the process until the figures are printed.
    const keepAlive = setInterval(() => {}, 1000);
    const active = new ActiveModel(silentLogger());
    await active.swap(model);
    const result = {
      ...(await benchCameras({
        cameras,
        seconds,
        cameraFps: Number(values['camera-fps']),
        images,
        active,
        codec,
      })),
      threads,
      frameSize: `${WIDTH}x${HEIGHT}`,
      model: 'mobilenetv2-12-int8 (float32 NCHW input, ImageNet mean/std)',
    };
    await active.close();
    clearInterval(keepAlive);
    if (values.json) console.log(JSON.stringify(result));
    else {
      const each = result.perCamera.map((c) => `${c.fps} fps p50 ${c.p50Ms} ms`).join('; ');
      console.log(
        `${cameras} cameras: ${result.totalFps} fps in total (one camera alone: ${result.singleCameraFps}); ${each}`,
      );
    }
    return 0;
  }

  // Floor: each stage alone, same frames, same model, same thread count. Measured between rounds of
  // the pipeline and pooled, so a change in the machine's load during the run biases neither.
  const decodeMs: number[] = [];
  const tensorMs: number[] = [];
  const runMs: number[] = [];
  const measureFloor = async (count: number) => {
    for (let i = 0; i < count; i++) {
      const image = images[i % images.length];
      const t0 = performance.now();
      const rgb = await codec.decodeResized(image, { width: 224, height: 224 });
      const t1 = performance.now();
      const tensor = tensorFromRgb(rgb, spec.input);
      const t2 = performance.now();
      await model.session.run(tensor);
      const t3 = performance.now();
      if (i >= 10) {
        decodeMs.push(t1 - t0);
        tensorMs.push(t2 - t1);
        runMs.push(t3 - t2);
      }
    }
  };
  // The broker runs in its own process and stamps each prediction it receives (see
  // agent/broker-process.ts); the agent's MqttLink publishes to it over loopback TCP.
  const deviceId = 'bench-01';
  const brokerProcess = await startBrokerProcess(deviceId);
  const link = new MqttLink({ url: brokerProcess.url, deviceId, secret: 'bench', logger: silentLogger() });
  while (!link.connected()) await sleep(10);

  // Frames published while measuring, by id: when their model work began and when the model answered (hrtime ms).
  const takenAt = new Map<string, { start: number; answered: number }>();
  const latencies: number[] = [];
  const hops: number[] = [];
  const stages: FrameStages[] = [];
  let measuring = false;
  let published = 0;
  brokerProcess.onArrival((frameId, at) => {
    const frame = takenAt.get(frameId);
    if (frame === undefined) return;
    takenAt.delete(frameId);
    latencies.push(at - frame.start);
    hops.push(at - frame.answered);
  });

  const active = new ActiveModel(silentLogger());
  await active.swap(model);
  const loadAverage = os.loadavg()[0];
  const camera = new ReplayCamera(images, Number(values['camera-fps']));
  const makeLoop = () =>
    new FrameLoop({
      camera,
      active,
      codec,
      topK: 5,
      logger: silentLogger(),
      retry: { baseMs: 100, maxMs: 1000 },
      onResult: async (result) => {
        if (measuring) {
          const now = hrMs();
          takenAt.set(result.frame.frameId, { start: now - result.latencyMs, answered: now });
          stages.push(result.stages);
          published++;
        }
        link.publishPrediction({
          protocol: PROTOCOL_VERSION,
          modelVersion: result.modelVersion,
          frameId: result.frame.frameId,
          capturedAt: result.frame.capturedAt,
          topK: result.topK,
          latencyMs: round(result.latencyMs),
        });
      },
      onCameraError: (err) => {
        throw err;
      },
    });

  // Warm-up (JIT, allocator pools); RSS is measured from its end.
  let loop = makeLoop();
  loop.start();
  await sleep(Math.min(10, Math.max(3, seconds * 0.1)) * 1000);
  await loop.stop();
  const rssSamples: number[] = [];

  // Rounds of floor → pipeline, so both see the same (shared, changing) machine load.
  const rounds = Math.max(2, Math.round(seconds / 15));
  let measuredMs = 0;
  let framesDropped = 0;
  for (let r = 0; r < rounds; r++) {
    await measureFloor(FLOOR_FRAMES);
    loop = makeLoop();
    loop.start();
    await sleep(300); // the stage averages settle before measuring
    measuring = true;
    const started = performance.now();
    const span = (seconds * 1000) / rounds;
    while (performance.now() - started < span) {
      await sleep(Math.min(1000, span - (performance.now() - started)));
      rssSamples.push(process.memoryUsage().rss);
    }
    measuredMs += performance.now() - started;
    measuring = false;
    framesDropped += loop.stats().framesDropped;
    await loop.stop();
  }
  await measureFloor(FLOOR_FRAMES);
  await sleep(500); // the broker process reports arrivals every 100 ms
  const received = latencies.length;
  const elapsedS = measuredMs / 1000;
  const stage = (key: keyof FrameStages) =>
    round(
      percentile(
        stages.map((s) => s[key]),
        50,
      ),
    );
  // Per frame, decode alone + run alone; its median is the statistic the pipeline's p50 (the median
  // of per-frame latencies) compares with. The sum of the two stages' separate medians can differ
  // when their times are skewed; it is reported as floorSumOfMediansMs.
  const floorMs = decodeMs.map((d, i) => d + runMs[i]);
  const floorP50Ms = percentile(floorMs, 50);
  const sequentialFps = 1000 / (mean(decodeMs) + mean(runMs));
  // RSS swings by tens of MB between GCs: compare the median of the first quarter of the samples
  // (one a second, after warm-up) with the median of the last quarter.
  const quarter = Math.max(1, Math.floor(rssSamples.length / 4));
  const rssStart = percentile(rssSamples.slice(0, quarter), 50);
  const rssEnd = percentile(rssSamples.slice(-quarter), 50);

  const result = {
    fps: round(received / elapsedS),
    p50Ms: round(percentile(latencies, 50)),
    p95Ms: round(percentile(latencies, 95)),
    floorP50Ms: round(floorP50Ms),
    floorSumOfMediansMs: round(percentile(decodeMs, 50) + percentile(runMs, 50)),
    latencyRatio: round(percentile(latencies, 50) / floorP50Ms),
    sequentialFps: round(sequentialFps),
    pipelineSpeedup: round(received / elapsedS / sequentialFps),
    // Where a published frame's time went (medians): decode + tensor, waiting for the model, run +
    // top-k, and from the answer to the broker's stamp (validate, MQTT publish, TCP, broker).
    stagesP50Ms: {
      prepare: stage('prepareMs'),
      wait: stage('waitMs'),
      infer: stage('inferMs'),
      publish: round(percentile(hops, 50)),
    },
    decodeP50Ms: round(percentile(decodeMs, 50)),
    tensorP50Ms: round(percentile(tensorMs, 50)),
    runP50Ms: round(percentile(runMs, 50)),
    rssStartMb: round(rssStart / 1048576),
    rssEndMb: round(rssEnd / 1048576),
    rssGrowthPct: round(((rssEnd - rssStart) / rssStart) * 100),
    // RSS at the end of each quarter of the run: a plateau, not a slope, is what "no leak" looks like.
    rssMbByQuarter: [1, 2, 3, 4].map((q) =>
      round(rssSamples[Math.max(0, Math.ceil((q / 4) * rssSamples.length) - 1)] / 1048576),
    ),
    framesPublished: published,
    framesReceived: received,
    framesDropped,
    rounds,
    seconds: round(elapsedS),
    threads,
    cpus: os.availableParallelism(),
    loadAverage1m: round(loadAverage),
    frameSize: `${WIDTH}x${HEIGHT}`,
    model: 'mobilenetv2-12-int8 (float32 NCHW input, ImageNet mean/std)',
  };

  await link.close();
  await active.close();
  await brokerProcess.stop();

  if (values.json) console.log(JSON.stringify(result));
  else {
    console.log(
      `agent pipeline: ${result.fps} fps (sequential stages: ${result.sequentialFps}), p50 ${result.p50Ms} ms vs floor ${result.floorP50Ms} ms (x${result.latencyRatio}), RSS ${result.rssGrowthPct}% over ${result.seconds}s`,
    );
  }
  return 0;
}
