/**
 * The hashing queue: at most `concurrency` at once, at most `maxWaiting` waiting, none waiting
 * past `maxWaitMs`; refusals are immediate RateLimitedErrors and free no one else's slot.
 */
import { describe, expect, it } from 'vitest';
import { createWorkGate } from '../../../../control-plane/src/limits/work-gate.ts';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('work gate', () => {
  it('runs one at a time, queues a bounded number, refuses the rest at once', async () => {
    const gate = createWorkGate({ concurrency: 1, maxWaiting: 2, maxWaitMs: 60_000, what: 'hashes' });
    const first = deferred();
    const order: number[] = [];
    const runs = [1, 2, 3].map((n) =>
      gate.run(async () => {
        order.push(n);
        if (n === 1) await first.promise;
      }),
    );
    await expect(gate.run(async () => 4)).rejects.toMatchObject({
      code: 'RATE_LIMITED',
      retryAfterSeconds: 1,
    });
    expect(gate.load()).toEqual({ running: 1, waiting: 2 });
    first.resolve();
    await Promise.all(runs);
    expect(order).toEqual([1, 2, 3]);
    expect(gate.load()).toEqual({ running: 0, waiting: 0 });
  });

  it('refuses a waiter that would wait longer than maxWaitMs', async () => {
    const gate = createWorkGate({ concurrency: 1, maxWaiting: 10, maxWaitMs: 50, what: 'hashes' });
    const first = deferred();
    const running = gate.run(() => first.promise);
    await expect(gate.run(async () => 'late')).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect(gate.load()).toEqual({ running: 1, waiting: 0 });
    first.resolve();
    await running;
    expect(await gate.run(async () => 'next')).toBe('next');
  });
});
