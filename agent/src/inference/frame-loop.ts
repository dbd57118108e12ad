/**
 * Camera → model, latest frame only, in two overlapping stages.
 *
 * - Capture (camera/frame-capture.ts): the camera fills a one-frame slot, restarted with backoff
 *   when it fails; this loop always takes the newest frame, so it never works through a backlog.
 * - Prepare (decode + resize + tensor, sharp's threads) of frame n+1 overlaps Infer (onnxruntime's
 *   threads) of frame n. Prepare starts "just in time": when inference is the slower stage, it
 *   waits until inference n has (by its running average) about prepare's own time left, then takes
 *   the newest frame. The frame is as fresh as possible and its tensor does not wait for the model,
 *   so latency stays near decode + run while throughput is set by the slower stage alone.
 * - Report: frame n's result goes to onResult (publish, capture policy) while the model already
 *   runs frame n+1; one report at a time, in order.
 *
 * The frame policy (shared FramePolicy) caps the rate, crops a region of interest, and skips
 * inference while the scene is static (motion gating).
 */
import type { ClassScore, FramePolicy, InputSpec, Logger } from '@edgeloop/shared';
import type { Camera, Frame } from '../camera/camera.ts';
import { type CameraRestart, type CapturedFrame, FrameCapture } from '../camera/frame-capture.ts';
import type { ImageCodec, RgbImage } from '../image/image-codec.ts';
import type { ModelSource } from '../model/active-model.ts';
import { type BackoffOptions, sleep } from '../util/backoff.ts';
import type { FairScheduler } from './fair-scheduler.ts';
import { grayThumbnail, meanAbsDiff } from './frame-features.ts';
import type { TensorInput } from './inference-backend.ts';
import { PipelineStats } from './pipeline-stats.ts';
import { classify } from './postprocess.ts';
import { tensorFromRgb } from './preprocess.ts';

export interface FrameResult {
  frame: Frame;
  /** The model-sized RGB image the model saw (for fingerprints; do not keep it). */
  rgb: RgbImage;
  modelVersion: number;
  topK: ClassScore[];
  /** The model's `features` output for the frame; null when the model has none. */
  features: Float32Array | null;
  /** From taking the frame out of the slot to the model's answer. */
  latencyMs: number;
  /** How long the frame waited in the slot before it was taken. */
  ageMs: number;
  /** latencyMs split into the pipeline's stages. */
  stages: FrameStages;
}

export interface FrameStages {
  /** Decode + resize + tensor. */
  prepareMs: number;
  /** The prepared tensor waiting for the previous frame's inference to finish. */
  waitMs: number;
  /** onnxruntime's run (with the hop to its worker thread) and top-k. */
  inferMs: number;
}

export interface FrameLoopOptions {
  camera: Camera;
  active: ModelSource;
  codec: ImageCodec;
  topK: number;
  logger: Logger;
  retry: BackoffOptions;
  policy?: FramePolicy;
  onResult(result: FrameResult): Promise<void>;
  onCameraError(err: Error, restart: CameraRestart): void;
  /** Shares the model with other cameras' loops (fair turns); runs go straight to it when absent. */
  scheduler?: FairScheduler;
  /** This loop's camera, for its turns in the scheduler. */
  cameraId?: string;
}

export interface FrameLoopStats {
  framesCaptured: number;
  framesProcessed: number;
  framesDropped: number;
  /** Frames not classified because the scene had not changed (motion gating). */
  framesStatic: number;
  cameraRestarts: number;
  fps: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  /** Running averages of the two stages (decode + tensor; run + top-k). */
  prepareMs: number;
  inferMs: number;
  /** Running average of how long a prepared tensor waited for the model (ideally ~0). */
  waitMs: number;
  /** True between a capture failure and the camera's next frame. */
  failing: boolean;
  lastError: string | null;
}

interface Prepared {
  frame: Frame;
  spec: InputSpec;
  rgb: RgbImage;
  tensor: TensorInput;
  takenAt: number;
  preparedAt: number;
  ageMs: number;
}

/** How late, as a fraction of prepare's time, prepare aims to finish after inference (see prepareNext). */
const LATE_MARGIN = 0.1;
const THUMB_W = 32;
const THUMB_H = 24;

export class FrameLoop {
  private readonly abort = new AbortController();
  private readonly capture: FrameCapture;
  private tasks: Promise<void>[] = [];
  private processed = 0;
  private static = 0;
  private lastThumb: Uint8Array | null = null;
  private lastClassifiedAt = Number.NEGATIVE_INFINITY;
  private lastInferStart = Number.NEGATIVE_INFINITY;
  private prepareMs = 0;
  private inferMs = 0;
  private waitMs = 0;
  private readonly timing = new PipelineStats();
  /** Float tensors back from the inference worker, reused: no 600 kB allocation per frame. */
  private readonly tensorPool: Float32Array[] = [];
  private readonly recycle = (data: Float32Array) => {
    if (this.tensorPool.length < 3) this.tensorPool.push(data);
  };

  constructor(private readonly o: FrameLoopOptions) {
    this.capture = new FrameCapture(o);
  }

  stats(): FrameLoopStats {
    return {
      ...this.capture.counts(),
      ...this.capture.condition(),
      framesProcessed: this.processed,
      framesStatic: this.static,
      fps: this.timing.fps(),
      latencyP50Ms: this.timing.percentile(50),
      latencyP95Ms: this.timing.percentile(95),
      prepareMs: this.prepareMs,
      inferMs: this.inferMs,
      waitMs: this.waitMs,
    };
  }

  /** The newest frame the camera delivered (for the local endpoint). */
  latestFrame(): Frame | null {
    return this.capture.latestFrame();
  }

  start(): void {
    if (this.tasks.length === 0) this.tasks = [this.capture.run(this.abort.signal), this.classify()];
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.tasks);
  }

  private async classify(): Promise<void> {
    let prepared = await this.prepareNext(null);
    // Results are reported (onResult) one at a time and in order, alongside the next inference.
    let reported: Promise<void> = Promise.resolve();
    // An answer whose report waits until the next tensor has gone to the model.
    let unreported: FrameResult | null = null;
    while (prepared) {
      const answered = this.infer(prepared);
      if (unreported) reported = this.report(unreported);
      unreported = null;
      let ready: Prepared | null | undefined; // set once the next frame is prepared
      const next = this.prepareNext(answered).then((p) => {
        ready = p;
        return p;
      });
      const result = await answered;
      // At most one report in flight: a slow onResult holds the loop back instead of piling up.
      // The previous report has had this whole inference to finish.
      await reported;
      if (ready === undefined) {
        // The next frame is still being prepared: report now.
        reported = this.report(result);
        prepared = await next;
      } else {
        // The next tensor is already waiting: it goes to the model first (at the top of the
        // loop) and this result is reported right after, so the model never idles through it.
        unreported = result;
        prepared = ready;
      }
    }
    await reported;
    await this.report(unreported);
  }

  private async report(result: FrameResult | null): Promise<void> {
    if (!result) return;
    try {
      await this.o.onResult(result);
    } catch (err) {
      this.o.logger.warn({ err, frameId: result.frame.frameId }, 'frame result not reported');
    }
  }

  /** Waits until it is time to prepare (see the file comment), then prepares the newest usable frame. */
  private async prepareNext(inferring: Promise<unknown> | null): Promise<Prepared | null> {
    const signal = this.abort.signal;
    if (inferring) {
      // Aim to finish a little (a tenth of prepare) after the model frees up, not before: a tensor
      // that is early waits, and that wait is latency; one that is late idles the model for the
      // margin, which costs a little throughput only. The result of frame n is then also never
      // held up behind frame n+1's tensor conversion on this thread.
      const head = this.inferMs - this.prepareMs * (1 - LATE_MARGIN);
      if (head > 0.5) await Promise.race([inferring, sleep(head, signal)]);
    }
    for (;;) {
      const maxFps = this.o.policy?.maxFps;
      if (maxFps !== undefined) {
        const due = this.lastInferStart + 1000 / maxFps - this.prepareMs - performance.now();
        if (due > 0 && !(await sleep(due, signal))) return null;
      }
      const slot = await this.capture.take(signal);
      if (!slot) return null;
      const prepared = await this.prepare(slot);
      if (prepared) return prepared;
    }
  }

  private async prepare(slot: CapturedFrame): Promise<Prepared | null> {
    const spec = this.o.active.get()?.manifest.input;
    if (!spec) return null; // no model installed yet: the frame is consumed and forgotten
    const takenAt = performance.now();
    try {
      const rgb = await this.o.codec.decodeResized(
        slot.frame.image,
        { width: spec.width, height: spec.height },
        this.o.policy?.roi,
      );
      if (this.isStatic(rgb, takenAt)) {
        this.static++;
        return null;
      }
      // Used once, by this frame's run: the backend may take the buffer over instead of copying it.
      const tensor = {
        ...tensorFromRgb(rgb, spec, this.tensorPool.pop()),
        transfer: true,
        recycle: this.recycle,
      };
      this.prepareMs = ewma(this.prepareMs, performance.now() - takenAt);
      const preparedAt = performance.now();
      return { frame: slot.frame, spec, rgb, tensor, takenAt, preparedAt, ageMs: takenAt - slot.at };
    } catch (err) {
      this.o.logger.warn({ err, frameId: slot.frame.frameId }, 'frame skipped: cannot decode it');
      return null;
    }
  }

  /** Motion gating: true while the scene matches the last classified frame and the keepalive has not passed. */
  private isStatic(rgb: RgbImage, now: number): boolean {
    const motion = this.o.policy?.motion;
    if (!motion?.enabled) return false;
    const thumb = grayThumbnail(rgb, THUMB_W, THUMB_H);
    const unchanged = this.lastThumb !== null && meanAbsDiff(thumb, this.lastThumb) < motion.threshold;
    if (unchanged && now - this.lastClassifiedAt < motion.keepaliveMs) return true;
    this.lastThumb = thumb;
    this.lastClassifiedAt = now;
    return false;
  }

  /** Runs the model on a prepared frame; null when there is no model or the run failed. */
  private async infer(p: Prepared): Promise<FrameResult | null> {
    const started = performance.now();
    this.lastInferStart = started;
    this.waitMs = ewma(this.waitMs, started - p.preparedAt);
    try {
      const result = await this.o.active.use(async (model) => {
        // A model swapped in since preparing may want another input: convert again if so.
        const input =
          model.manifest.input === p.spec ? p.tensor : await this.retensor(p, model.manifest.input);
        // With other cameras, the run waits for this camera's turn (the scheduler's round-robin).
        let granted = started;
        const run = () => {
          granted = performance.now();
          return model.session.runWithFeatures(input);
        };
        const { scheduler } = this.o;
        const output = await (scheduler ? scheduler.run(this.o.cameraId ?? 'default', run) : run());
        const topK = classify(output.scores, model.manifest.output, model.manifest.labels, this.o.topK);
        const done = performance.now();
        return {
          frame: p.frame,
          rgb: p.rgb,
          modelVersion: model.version,
          topK,
          features: output.features,
          latencyMs: done - p.takenAt,
          ageMs: p.ageMs,
          stages: {
            prepareMs: p.preparedAt - p.takenAt,
            waitMs: granted - p.preparedAt,
            inferMs: done - granted,
          },
        };
      });
      if (!result) return null;
      this.processed++;
      this.timing.record(result.latencyMs);
      return result;
    } catch (err) {
      this.o.logger.warn({ err, frameId: p.frame.frameId }, 'frame skipped');
      return null;
    } finally {
      // Includes the wait for this camera's turn, so "just in time" preparation (prepareNext)
      // also aims at the turn: the frame taken is the newest one when the model is free for it.
      this.inferMs = ewma(this.inferMs, performance.now() - started);
    }
  }

  private async retensor(p: Prepared, spec: InputSpec): Promise<TensorInput> {
    if (spec.width === p.spec.width && spec.height === p.spec.height) return tensorFromRgb(p.rgb, spec);
    const rgb = await this.o.codec.decodeResized(
      p.frame.image,
      { width: spec.width, height: spec.height },
      this.o.policy?.roi,
    );
    return tensorFromRgb(rgb, spec);
  }
}

/** Running average that follows a changing load within ~10 frames. */
function ewma(previous: number, sample: number): number {
  return previous === 0 ? sample : previous * 0.8 + sample * 0.2;
}
