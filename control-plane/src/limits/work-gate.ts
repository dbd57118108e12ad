/**
 * Bounded concurrency for expensive work (scrypt: passwords): at most `concurrency` run at once, at most
 * `maxWaiting` wait, and none waits longer than `maxWaitMs`; past either bound a caller is refused
 * (RateLimitedError) instead of joining an endless queue. scrypt runs on libuv's small thread
 * pool, which file reads and DNS also need, so a flood of password checks must not take all of
 * it, and a client that would wait longer than it is willing to gets a quick "try later".
 */
import { RateLimitedError } from '@edgeloop/shared';

export interface WorkGate {
  /** Runs `work` when a slot is free; throws RateLimitedError when the queue is full or too slow. */
  run<T>(work: () => Promise<T>): Promise<T>;
  /** Running and waiting now. */
  load(): { running: number; waiting: number };
}

interface Waiter {
  start(): void;
}

export function createWorkGate(options: {
  concurrency: number;
  maxWaiting: number;
  maxWaitMs: number;
  what: string;
}): WorkGate {
  let running = 0;
  const waiting = new Set<Waiter>();
  const busy = () => new RateLimitedError(`too many ${options.what} at once; try again shortly`, 1);

  function release(): void {
    // Set iteration is insertion order: the longest waiter goes first.
    const next = waiting.values().next().value;
    if (next) {
      waiting.delete(next);
      next.start();
    } else running--;
  }

  return {
    async run(work) {
      if (running >= options.concurrency) {
        if (waiting.size >= options.maxWaiting) throw busy();
        // The slot is handed over by release(): running stays counted.
        await new Promise<void>((resolve, reject) => {
          const waiter: Waiter = {
            start: () => {
              clearTimeout(timer);
              resolve();
            },
          };
          const timer = setTimeout(() => {
            waiting.delete(waiter);
            reject(busy());
          }, options.maxWaitMs);
          waiting.add(waiter);
        });
      } else {
        running++;
      }
      try {
        return await work();
      } finally {
        release();
      }
    },
    load: () => ({ running, waiting: waiting.size }),
  };
}
