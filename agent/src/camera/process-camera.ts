/**
 * A camera read from a capture process (ffmpeg, rpicam-vid, gst-launch) that writes MJPEG to stdout.
 *
 * One run of `frames()` is one process. It ends with a CameraError when the process exits, cannot
 * be started, or stalls (no frame for stallTimeoutMs: it is killed first), naming the command and
 * the last lines it wrote to stderr ("No such file or directory", "401 Unauthorized"…). Capture's
 * watchdog (frame-capture.ts) then restarts it with backoff: a missing device is a retry, not a
 * crash loop.
 *
 * stdout is always drained (a blocked pipe would stall the camera itself); when the consumer is
 * slower than the camera only the newest frame is kept.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { EdgeloopError } from '@edgeloop/shared';
import type { Camera, Frame } from './camera.ts';
import type { CaptureCommand } from './capture-commands.ts';
import { MjpegFramer } from './mjpeg-framer.ts';

export class CameraError extends EdgeloopError {
  constructor(message: string, cause?: unknown) {
    super('CAMERA_UNAVAILABLE', message, { cause });
  }
}

export interface ProcessCameraOptions {
  capture: CaptureCommand;
  stallTimeoutMs: number;
  maxFrameBytes: number;
  /** Grace between SIGTERM and SIGKILL when stopping. */
  killGraceMs?: number;
}

const STDERR_TAIL_BYTES = 2_000;

export class ProcessCamera implements Camera {
  private child: ChildProcess | null = null;
  private frameCount = 0;

  constructor(private readonly o: ProcessCameraOptions) {}

  /** The running capture process's pid (for operators and the watchdog test). */
  pid(): number | null {
    return this.child?.pid ?? null;
  }

  async *frames(signal: AbortSignal): AsyncIterable<Frame> {
    const { capture } = this.o;
    const framer = new MjpegFramer(this.o.maxFrameBytes);
    let latest: Buffer | null = null;
    let failure: CameraError | null = null;
    let exited = false;
    // Set when the consumer stops: output still arriving while ffmpeg winds down is drained, and
    // must not re-arm the stall timer (a fresh timer would hold the process open for stallTimeoutMs).
    let stopping = false;
    let stderr = '';
    let wake: (() => void) | null = null;
    const notify = () => {
      const w = wake;
      wake = null;
      w?.();
    };

    const child = spawn(capture.command, capture.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const exitedPromise = new Promise<void>((resolve) => {
      child.once('close', (code, sig) => {
        exited = true;
        const tail = stderr.trim().split('\n').slice(-3).join(' | ');
        failure ??= new CameraError(
          `${capture.describe}: capture process exited (${sig ?? `code ${code}`})${tail ? `: ${tail}` : ''}`,
        );
        resolve();
        notify();
      });
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      failure =
        err.code === 'ENOENT'
          ? new CameraError(`${capture.describe}: '${capture.command}' is not installed or not on PATH`, err)
          : new CameraError(`${capture.describe}: cannot start '${capture.command}': ${err.message}`, err);
      notify();
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      stderr = (stderr + text).slice(-STDERR_TAIL_BYTES);
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      if (stopping) return;
      const frames = framer.push(chunk);
      if (frames.length === 0) return;
      latest = frames[frames.length - 1];
      this.frameCount += frames.length;
      armStall();
      notify();
    });

    let stallTimer: NodeJS.Timeout | null = null;
    const armStall = () => {
      if (stallTimer) clearTimeout(stallTimer);
      if (stopping) return;
      stallTimer = setTimeout(() => {
        failure ??= new CameraError(
          `${capture.describe}: no frame for ${this.o.stallTimeoutMs} ms; restarting the capture process`,
        );
        child.kill('SIGKILL');
        notify();
      }, this.o.stallTimeoutMs);
    };
    armStall();
    const onAbort = () => notify();
    signal.addEventListener('abort', onAbort, { once: true });

    try {
      while (!signal.aborted) {
        if (latest) {
          const image: Buffer = latest;
          latest = null;
          yield { frameId: frameId(), capturedAt: new Date().toISOString(), image, mime: 'image/jpeg' };
          continue;
        }
        if (failure) throw failure;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    } finally {
      stopping = true;
      if (stallTimer) clearTimeout(stallTimer);
      signal.removeEventListener('abort', onAbort);
      if (!exited && child.pid !== undefined) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), this.o.killGraceMs ?? 2_000);
        await exitedPromise;
        clearTimeout(killer);
      }
      child.stdout?.removeAllListeners('data');
      if (this.child === child) this.child = null;
    }
  }

  /** Frames cut from the stream since this camera was made, across restarts. */
  framesCaptured(): number {
    return this.frameCount;
  }
}

/** Capture-time ids: sortable and unique within a device. */
function frameId(): string {
  return `f-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
