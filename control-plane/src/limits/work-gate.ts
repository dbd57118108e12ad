/**
 * Bounded concurrency for expensive work (scrypt): at most `concurrency` run at once, at most
 * `maxWaiting` wait; past that a caller is refused at once instead of joining an endless queue.
 * scrypt runs on libuv's small thread pool, which file reads and DNS also need, so a flood of
 * password checks must not take all of it.
 */
import { RateLimitedError } from '@edgeloop/shared';

export interface WorkGate {
  /** Runs `work` when a slot is free; throws RateLimitedError when the queue is full. */
  run<T>(work: () => Promise<T>): Promise<T>;
  /** Running and waiting now. */
  load(): { running: number; waiting: number };
}

export function createWorkGate(options: { concurrency: number; maxWaiting: number; what: string }): WorkGate {
  let running = 0;
  const waiting: (() => void)[] = [];

  function release(): void {
    const next = waiting.shift();
    if (next) next();
    else running--;
  }

  return {
    async run(work) {
      if (running >= options.concurrency) {
        if (waiting.length >= options.maxWaiting) {
          throw new RateLimitedError(`too many ${options.what} at once; try again shortly`, 1);
        }
        // The slot is handed over by release(): running stays counted.
        await new Promise<void>((resolve) => waiting.push(resolve));
      } else {
        running++;
      }
      try {
        return await work();
      } finally {
        release();
      }
    },
    load: () => ({ running, waiting: waiting.length }),
  };
}
