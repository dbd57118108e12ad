/** Paces a frame source at a target rate with timers, without drifting when a frame is slow. */
import { sleep } from '../util/backoff.ts';

export class Pacer {
  private readonly intervalMs: number;
  private next = 0;

  constructor(fps: number) {
    this.intervalMs = 1000 / fps;
  }

  /** Waits until the next frame is due; false when aborted. */
  async wait(signal: AbortSignal): Promise<boolean> {
    const now = performance.now();
    if (this.next === 0) this.next = now;
    const delay = this.next - now;
    // A source that fell behind restarts its schedule rather than bursting to catch up.
    this.next = delay < -this.intervalMs ? now + this.intervalMs : this.next + this.intervalMs;
    if (delay > 0) return sleep(delay, signal);
    return !signal.aborted;
  }
}
