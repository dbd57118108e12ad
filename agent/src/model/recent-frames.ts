/** The camera's last few frames, kept (by reference, still encoded) for smoke-testing a candidate. */
import type { Frame } from '../camera/camera.ts';

export class RecentFrames {
  private readonly frames: Frame[] = [];
  private readonly waiters = new Set<(frame: Frame) => void>();

  constructor(private readonly capacity = 4) {}

  add(frame: Frame): void {
    this.frames.push(frame);
    if (this.frames.length > this.capacity) this.frames.shift();
    for (const waiter of this.waiters) waiter(frame);
  }

  /** The next `n` frames as they arrive; fewer if `timeoutMs` passes or `signal` aborts first. */
  next(n: number, timeoutMs: number, signal?: AbortSignal): Promise<Frame[]> {
    const got: Frame[] = [];
    return new Promise((resolve) => {
      const done = () => {
        this.waiters.delete(take);
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve(got);
      };
      const take = (frame: Frame) => {
        got.push(frame);
        if (got.length >= n) done();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done);
      if (n <= 0) done();
      else this.waiters.add(take);
    });
  }

  list(): readonly Frame[] {
    return [...this.frames];
  }
}
