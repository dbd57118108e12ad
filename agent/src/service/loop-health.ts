/**
 * Whether the agent's loops are healthy enough to ping systemd's watchdog. It looks for a wedge
 * the agent cannot see itself: frames keep arriving from a camera but none has been classified
 * (or skipped as unchanged) for `stallMs` while a model is loaded, i.e. inference is stuck. A
 * camera that fails is not counted: its own watchdog restarts the capture with backoff, and
 * restarting the whole agent would not bring an unplugged camera back.
 */

export interface LoopSample {
  cameraId: string;
  framesCaptured: number;
  /** Classified, dropped as stale, or skipped as unchanged: anything that means the loop turned. */
  framesHandled: number;
  failing: boolean;
}

interface Progress {
  captured: number;
  handled: number;
  /** When `handled` last moved, or when the camera was first seen. */
  handledAt: number;
}

export class LoopHealth {
  private readonly progress = new Map<string, Progress>();

  constructor(private readonly stallMs: number) {}

  /** Null when healthy, else why not (logged by the caller). */
  check(samples: readonly LoopSample[], modelLoaded: boolean, now: number): string | null {
    let problem: string | null = null;
    for (const s of samples) {
      const last = this.progress.get(s.cameraId);
      if (!last || s.framesHandled !== last.handled || s.failing || !modelLoaded) {
        this.progress.set(s.cameraId, {
          captured: s.framesCaptured,
          handled: s.framesHandled,
          handledAt: now,
        });
        continue;
      }
      const arriving = s.framesCaptured > last.captured;
      if (arriving && now - last.handledAt > this.stallMs) {
        problem ??= `camera ${s.cameraId}: frames arrive but none was classified for ${Math.round((now - last.handledAt) / 1000)} s`;
      }
    }
    return problem;
  }
}
