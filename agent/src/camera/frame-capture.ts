/**
 * Capture: the camera is read continuously into a one-frame slot; a newer frame replaces an
 * unclaimed one (counted as dropped), so a slow model never works through a backlog. The watchdog:
 * a camera that fails is restarted with backoff, and every failure is reported (onCameraError).
 * A source that ends (a folder without loop) ends capture.
 */
import type { Logger } from '@edgeloop/shared';
import { type BackoffOptions, backoffDelay, sleep } from '../util/backoff.ts';
import type { Camera, Frame } from './camera.ts';

export interface CameraRestart {
  attempt: number;
  delayMs: number;
}

/** A frame in the slot and when it arrived (performance.now()). */
export interface CapturedFrame {
  frame: Frame;
  at: number;
}

export interface FrameCaptureOptions {
  camera: Camera;
  logger: Logger;
  retry: BackoffOptions;
  onCameraError(err: Error, restart: CameraRestart): void;
}

export interface CaptureCounts {
  framesCaptured: number;
  /** Frames replaced in the slot before anyone took them. */
  framesDropped: number;
  cameraRestarts: number;
}

export interface CaptureCondition {
  /** True between a failure and the camera's next frame. */
  failing: boolean;
  /** The last failure's message while failing, else null. */
  lastError: string | null;
}

export class FrameCapture {
  private slot: CapturedFrame | null = null;
  private wake: (() => void) | null = null;
  private ended = false;
  private captured = 0;
  private dropped = 0;
  private restarts = 0;
  private last: Frame | null = null;
  private lastError: string | null = null;

  constructor(private readonly o: FrameCaptureOptions) {}

  counts(): CaptureCounts {
    return { framesCaptured: this.captured, framesDropped: this.dropped, cameraRestarts: this.restarts };
  }

  condition(): CaptureCondition {
    return { failing: this.lastError !== null, lastError: this.lastError };
  }

  /** The newest frame the camera delivered, taken or not. */
  latestFrame(): Frame | null {
    return this.last;
  }

  /** Reads the camera until `signal` aborts or the source ends, restarting it when it fails. */
  async run(signal: AbortSignal): Promise<void> {
    const onAbort = () => this.notify();
    signal.addEventListener('abort', onAbort, { once: true });
    let failures = 0;
    try {
      while (!signal.aborted) {
        try {
          for await (const frame of this.o.camera.frames(signal)) {
            if (this.slot) this.dropped++;
            this.slot = { frame, at: performance.now() };
            this.last = frame;
            this.captured++;
            failures = 0;
            this.lastError = null;
            this.notify();
          }
          break; // the source ran out (a folder without loop)
        } catch (err) {
          if (signal.aborted) break;
          const attempt = failures++;
          const delayMs = backoffDelay(attempt, this.o.retry);
          this.restarts++;
          this.lastError = (err as Error).message.slice(0, 500);
          this.o.logger.error({ err, attempt, delayMs }, 'camera failed; restarting it');
          this.o.onCameraError(err as Error, { attempt, delayMs });
          await sleep(delayMs, signal);
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.ended = true;
      this.notify();
    }
  }

  /** Takes the newest untaken frame, waiting for one; null once capture ended or `signal` aborted. */
  async take(signal: AbortSignal): Promise<CapturedFrame | null> {
    while (!this.slot || signal.aborted) {
      if (this.ended || signal.aborted) return null;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
    const slot = this.slot;
    this.slot = null;
    return slot;
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
