/**
 * The agent's cameras, built from a validated config in one function (startCameraSet), so a new
 * configuration can stop the set and build it again. Per camera: its own capture (process and
 * watchdog), frame policy, sample policy, prediction gate and live-frame thumbnails; shared by all:
 * the model sessions (the device's ActiveModel, or a camera's own model from CameraModels — one
 * session per distinct version), taken in fair turns (FairScheduler), and the sample queue.
 *
 * Every prediction, sample, live frame and camera-error event carries the camera's id.
 */
import {
  type AgentConfig,
  type CameraHealth,
  type DeviceEvent,
  type LiveFrame,
  type Logger,
  PROTOCOL_VERSION,
  type Prediction,
  resolveCameras,
  type SampleMetadata,
} from '@edgeloop/shared';
import { LiveFramePublisher } from '../comms/live-frame-publisher.ts';
import type { ImageCodec } from '../image/image-codec.ts';
import { FairScheduler } from '../inference/fair-scheduler.ts';
import { FrameLoop, type FrameLoopStats, type FrameResult } from '../inference/frame-loop.ts';
import type { ActiveModel, ModelSource } from '../model/active-model.ts';
import { PredictionGate } from '../predictions/prediction-gate.ts';
import { SampleCollector } from '../samples/sample-collector.ts';
import type { SampleQueue } from '../samples/sample-queue.ts';
import type { BackoffOptions } from '../util/backoff.ts';
import type { Camera, Frame } from './camera.ts';
import { createCamera } from './create-camera.ts';
import type { CameraRestart } from './frame-capture.ts';

/** Where the set's results go: the agent wires these to MQTT, the bus and its model statistics. */
export interface CameraSetSink {
  /** Every classified frame (before the prediction gate). */
  classified(prediction: Prediction, result: FrameResult): void;
  publishPrediction(prediction: Prediction): void;
  /** Thumbnails are made only while this is true (nobody sees them offline). */
  connected(): boolean;
  publishLiveFrame(frame: LiveFrame): void;
  event(type: DeviceEvent['type'], message: string, cameraId: string): void;
  sampleQueued(metadata: SampleMetadata, result: FrameResult): void;
  cameraRestart(cameraId: string, err: Error, restart: CameraRestart): void;
}

export interface CameraSetDeps {
  active: ActiveModel;
  codec: ImageCodec;
  queue: SampleQueue;
  logger: Logger;
  retry: BackoffOptions;
  sink: CameraSetSink;
  /** Cameras to use instead of building them from their config, by id (tests, benchmarks). */
  cameras?: Record<string, Camera>;
  /** The model a camera runs (per-camera models, CameraModels); `active` for every camera when absent. */
  modelFor?: (cameraId: string) => ModelSource;
}

interface Unit {
  id: string;
  loop: FrameLoop;
  lastPrediction: Prediction | null;
  /** Replaced when the remote configuration changes `samples` or `predictions`. */
  collector: SampleCollector;
  gate: PredictionGate;
}

export interface CameraSet {
  ids(): string[];
  /**
   * New sample policies (from `config`, so a camera's own `samples` still wins) and prediction
   * gates, for the next frames; the cameras keep running.
   */
  setSamples(config: AgentConfig): void;
  setPredictions(predictions: AgentConfig['predictions']): void;
  /** Per camera, in config order. */
  stats(): (FrameLoopStats & { cameraId: string })[];
  health(): CameraHealth[];
  /** The newest frame of a camera (the first one when no id is given). */
  latestFrame(cameraId?: string): Frame | null;
  lastPrediction(cameraId?: string): Prediction | null;
  stop(): Promise<void>;
}

/** Builds and starts every camera `config` describes; see the file comment. */
export function startCameraSet(config: AgentConfig, deps: CameraSetDeps): CameraSet {
  const scheduler = new FairScheduler();
  const units: Unit[] = resolveCameras(config).map((resolved) => {
    const { id } = resolved;
    const log = deps.logger.child({ cameraId: id });
    const collector = new SampleCollector(resolved.samples, deps.queue, deps.codec, log, undefined, id);
    const gate = new PredictionGate(config.predictions);
    const liveFrame = new LiveFramePublisher(
      config.liveFrame,
      deps.codec,
      (frame) => deps.sink.publishLiveFrame({ ...frame, cameraId: id }),
      log,
    );
    const unit: Unit = { id, loop: null as unknown as FrameLoop, lastPrediction: null, collector, gate };
    const onResult = async (result: FrameResult) => {
      const prediction: Prediction = {
        protocol: PROTOCOL_VERSION,
        modelVersion: result.modelVersion,
        frameId: result.frame.frameId.slice(0, 200),
        capturedAt: result.frame.capturedAt,
        topK: result.topK,
        latencyMs: Math.round(result.latencyMs * 100) / 100,
        cameraId: id,
      };
      unit.lastPrediction = prediction;
      deps.sink.classified(prediction, result);
      if (unit.gate.allow(result.topK)) deps.sink.publishPrediction(prediction);
      if (deps.sink.connected()) await liveFrame.offer(result.frame, result.topK, result.modelVersion);
      // The thresholds of the model that classified this frame (a swap may have happened since).
      const model = deps.active.get();
      const recommended = model?.version === result.modelVersion ? model.manifest.confidence : undefined;
      const sample = await unit.collector.consider(
        result.frame,
        result.topK,
        result.modelVersion,
        result.rgb,
        Date.now(),
        recommended,
        result.features,
      );
      if (sample?.queued) deps.sink.sampleQueued(sample.metadata, result);
      if (sample?.dropped)
        deps.sink.event(
          'sample-dropped',
          `sample queue full (${deps.queue.size()}): evicted the most confident sample (${deps.queue.dropped()} so far)`,
          id,
        );
    };
    unit.loop = new FrameLoop({
      camera: deps.cameras?.[id] ?? createCamera(resolved.camera, deps.codec),
      active: deps.modelFor?.(id) ?? deps.active,
      codec: deps.codec,
      topK: config.inference.topK,
      logger: log,
      retry: deps.retry,
      policy: resolved.frames,
      scheduler,
      cameraId: id,
      onResult,
      onCameraError: (err, restart) => {
        const message = `camera '${id}': ${err.message} (restart ${restart.attempt + 1} in ${restart.delayMs} ms)`;
        deps.sink.event('camera-error', message, id);
        deps.sink.cameraRestart(id, err, restart);
      },
    });
    return unit;
  });
  for (const unit of units) unit.loop.start();

  const find = (cameraId?: string) => (cameraId ? units.find((u) => u.id === cameraId) : units[0]);
  return {
    ids: () => units.map((u) => u.id),
    setSamples(next) {
      for (const resolved of resolveCameras(next)) {
        const unit = units.find((u) => u.id === resolved.id);
        if (!unit) continue;
        const log = deps.logger.child({ cameraId: unit.id });
        unit.collector = new SampleCollector(
          resolved.samples,
          deps.queue,
          deps.codec,
          log,
          undefined,
          unit.id,
        );
      }
    },
    setPredictions(predictions) {
      for (const unit of units) unit.gate = new PredictionGate(predictions);
    },
    stats: () => units.map((u) => ({ ...u.loop.stats(), cameraId: u.id })),
    health: () =>
      units.map((u) => {
        const s = u.loop.stats();
        return {
          cameraId: u.id,
          fps: round(s.fps),
          latencyP50Ms: s.latencyP50Ms === null ? null : round(s.latencyP50Ms),
          latencyP95Ms: s.latencyP95Ms === null ? null : round(s.latencyP95Ms),
          framesProcessed: s.framesProcessed,
          framesDropped: s.framesDropped,
          cameraRestarts: s.cameraRestarts,
          failing: s.failing,
          lastError: s.lastError,
        };
      }),
    latestFrame: (cameraId) => find(cameraId)?.loop.latestFrame() ?? null,
    lastPrediction: (cameraId) => {
      if (cameraId) return find(cameraId)?.lastPrediction ?? null;
      // The newest of any camera.
      let newest: Prediction | null = null;
      for (const u of units)
        if (u.lastPrediction && (!newest || u.lastPrediction.capturedAt > newest.capturedAt))
          newest = u.lastPrediction;
      return newest;
    },
    async stop() {
      await Promise.all(units.map((u) => u.loop.stop()));
    },
  };
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}
