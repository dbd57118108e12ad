/**
 * Shares one model session between cameras: one run at a time, and when several cameras wait, the
 * next turn goes to the camera after the last served one in a fixed ring (round-robin over cameras
 * with a ready frame). A camera whose frames arrive twice as fast therefore gets the same share of
 * the model as a slow one, not twice as much, and no camera waits more than one run per other
 * camera. Each camera's frame loop keeps at most one frame queued here (the newest it prepared), so
 * the queue never holds stale frames.
 *
 * Runs do not overlap: the session's worker serves one run at a time anyway, and a run queued
 * inside the worker could no longer be reordered.
 */

interface Waiting {
  key: string;
  start: () => void;
}

export class FairScheduler {
  /** Keys in the order they first asked for a turn: the ring. */
  private readonly ring: string[] = [];
  private readonly waiting: Waiting[] = [];
  private lastServed = -1;
  private busy = false;

  /** Runs `fn` when it is `key`'s turn; resolves (or rejects) with its result. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    if (!this.ring.includes(key)) this.ring.push(key);
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({
        key,
        start: () => {
          fn()
            .then(resolve, reject)
            .finally(() => {
              this.busy = false;
              this.next();
            });
        },
      });
      this.next();
    });
  }

  /** How many runs are waiting for their turn (for the bench and tests). */
  queued(): number {
    return this.waiting.length;
  }

  private next(): void {
    if (this.busy || this.waiting.length === 0) return;
    const n = this.ring.length;
    // The first camera after the last served one, going round the ring, that has a run waiting.
    for (let step = 1; step <= n; step++) {
      const index = (this.lastServed + step) % n;
      const at = this.waiting.findIndex((w) => w.key === this.ring[index]);
      if (at === -1) continue;
      const [turn] = this.waiting.splice(at, 1);
      this.lastServed = index;
      this.busy = true;
      turn.start();
      return;
    }
  }
}
