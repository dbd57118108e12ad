/**
 * Single-row reads gathered into few statements: a read asked while another is in flight waits
 * for the next one, which fetches every key asked meanwhile in one statement (`readMany`, e.g.
 * `WHERE id IN (...)`). Idle, a read starts at once; busy (a fleet reconnecting, a pool under
 * load), a thousand reads cost a few statements instead of a thousand. Every read still starts
 * after it was asked for, so it sees everything committed before: the device authenticator relies
 * on that to see a revocation made through another replica, the credential guard to see failures
 * charged there.
 */

/** Keys per statement; more waiting than this are read by the statements that follow. */
const MAX_BATCH = 400;

interface Waiter<V> {
  key: string;
  resolve(value: V | undefined): void;
  reject(err: unknown): void;
}

/** Reads one key; undefined when `readMany` found none. */
export type GatheredRead<V> = (key: string) => Promise<V | undefined>;

export function gatheredReads<V>(
  readMany: (keys: string[]) => Promise<ReadonlyMap<string, V>>,
): GatheredRead<V> {
  let waiting: Waiter<V>[] = [];
  let reading = false;

  async function drain(): Promise<void> {
    reading = true;
    while (waiting.length > 0) {
      const batch = waiting.slice(0, MAX_BATCH);
      waiting = waiting.slice(MAX_BATCH);
      try {
        const found = await readMany([...new Set(batch.map((w) => w.key))]);
        for (const w of batch) w.resolve(found.get(w.key));
      } catch (err) {
        // Each caller fails with the store's error, as its own read would have.
        for (const w of batch) w.reject(err);
      }
    }
    reading = false;
  }

  return (key) =>
    new Promise((resolve, reject) => {
      waiting.push({ key, resolve, reject });
      if (!reading) void drain();
    });
}
