/**
 * Camera → model, latest frame only: the camera is read continuously into a one-frame slot and the
 * classifier always takes the newest frame, so a slow model drops stale frames instead of queueing
 * them. A failing camera is restarted with backoff (a watchdog); a bad frame is skipped.
 */
import type { ClassScore, Logger } from '@edgeloop/shared';
import type { Camera, Frame } from '../camera/camera.ts';
import type { ImageCodec } from '../image/image-codec.ts';
import type { ActiveModel } from '../model/active-model.ts';
import { type BackoffOptions, backoffDelay, sleep } from '../util/backoff.ts';
import { classify } from './postprocess.ts';
import { preprocessFrame } from './preprocess.ts';

export interface FrameResult {
  frame: Frame;
  modelVersion: number;
  topK: ClassScore[];
  latencyMs: number;
}

export interface FrameLoopOptions {
  camera: Camera;
  active: ActiveModel;
  codec: ImageCodec;
  topK: number;
  logger: Logger;
  retry: BackoffOptions;
  onResult(result: FrameResult): Promise<void>;
  onCameraError(err: Error): void;
}

export class FrameLoop {
  private readonly abort = new AbortController();
  private slot: Frame | null = null;
  private wake: (() => void) | null = null;
  private cameraDone = false;
  private tasks: Promise<void>[] = [];
  private processed = 0;
  private dropped = 0;

  constructor(private readonly o: FrameLoopOptions) {}

  stats(): { framesProcessed: number; framesDropped: number } {
    return { framesProcessed: this.processed, framesDropped: this.dropped };
  }

  start(): void {
    if (this.tasks.length === 0) this.tasks = [this.capture(), this.classify()];
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.wake?.();
    await Promise.all(this.tasks);
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private async capture(): Promise<void> {
    const signal = this.abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      try {
        for await (const frame of this.o.camera.frames(signal)) {
          if (this.slot) this.dropped++;
          this.slot = frame;
          failures = 0;
          this.notify();
        }
        break; // the source ran out (a folder without loop)
      } catch (err) {
        if (signal.aborted) break;
        const delayMs = backoffDelay(failures++, this.o.retry);
        this.o.logger.error({ err, delayMs }, 'camera failed; restarting it');
        this.o.onCameraError(err as Error);
        await sleep(delayMs, signal);
      }
    }
    this.cameraDone = true;
    this.notify();
  }

  private async nextFrame(): Promise<Frame | null> {
    while (!this.slot || this.abort.signal.aborted) {
      if (this.cameraDone || this.abort.signal.aborted) return null;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
    const frame = this.slot;
    this.slot = null;
    return frame;
  }

  private async classify(): Promise<void> {
    const { active, codec, logger } = this.o;
    for (let frame = await this.nextFrame(); frame; frame = await this.nextFrame()) {
      const current = frame;
      try {
        const result = await active.use(async (model) => {
          const started = performance.now();
          const input = await preprocessFrame(current.image, model.manifest.input, codec);
          const output = await model.session.run(input);
          const topK = classify(output, model.manifest.output, model.manifest.labels, this.o.topK);
          return {
            frame: current,
            modelVersion: model.version,
            topK,
            latencyMs: performance.now() - started,
          };
        });
        if (!result) continue; // no model installed yet
        this.processed++;
        await this.o.onResult(result);
      } catch (err) {
        logger.warn({ err, frameId: current.frameId }, 'frame skipped');
      }
    }
  }
}
