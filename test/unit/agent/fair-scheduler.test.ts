/** The model's turns between cameras: one run at a time, round-robin over cameras that wait. */
import { describe, expect, it } from 'vitest';
import { FairScheduler } from '../../../agent/src/inference/fair-scheduler.ts';

/** A run that finishes when the test says so. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

describe('FairScheduler', () => {
  it('runs one at a time', async () => {
    const s = new FairScheduler();
    let running = 0;
    let most = 0;
    const run = (key: string) =>
      s.run(key, async () => {
        running++;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 2));
        running--;
      });
    await Promise.all([run('a'), run('b'), run('a'), run('c')]);
    expect(most).toBe(1);
  });

  it('gives a camera that keeps asking no more turns than the others', async () => {
    const s = new FairScheduler();
    const order: string[] = [];
    const first = gate();
    // 'fast' asks three times before 'slow' asks once; while the first run holds the model, all wait.
    const runs = [
      s.run('fast', async () => {
        order.push('fast');
        await first.opened;
      }),
      s.run('fast', async () => order.push('fast')),
      s.run('fast', async () => order.push('fast')),
      s.run('slow', async () => order.push('slow')),
      s.run('other', async () => order.push('other')),
    ];
    first.open();
    await Promise.all(runs);
    expect(order).toEqual(['fast', 'slow', 'other', 'fast', 'fast']);
  });

  it('passes a failed run on to its caller and carries on with the next', async () => {
    const s = new FairScheduler();
    const failed = s.run('a', async () => {
      throw new Error('run failed');
    });
    const next = s.run('b', async () => 42);
    await expect(failed).rejects.toThrow('run failed');
    expect(await next).toBe(42);
    expect(s.queued()).toBe(0);
  });
});
