/**
 * Reads of devices' stored secret hashes for the device authenticator, gathered: a read asked
 * while another is in flight waits for the next one, which fetches every hash asked meanwhile in
 * one statement. Idle, a read starts at once; busy (a fleet reconnecting, a pool under load), a
 * thousand checks cost a few statements instead of a thousand. Every read still starts after it
 * was asked for, so it sees every revocation or rotation committed before the request came in.
 */
import type { DeviceStore } from '../store/device-store.ts';

/** Ids per statement; more waiting than this are read by the statements that follow. */
const MAX_BATCH = 400;

interface Waiter {
  deviceId: string;
  resolve(hash: string | null): void;
  reject(err: unknown): void;
}

export type SecretHashReader = (deviceId: string) => Promise<string | null>;

export function gatheredSecretHashReads(devices: Pick<DeviceStore, 'secretHashes'>): SecretHashReader {
  let waiting: Waiter[] = [];
  let reading = false;

  async function drain(): Promise<void> {
    reading = true;
    while (waiting.length > 0) {
      const batch = waiting.slice(0, MAX_BATCH);
      waiting = waiting.slice(MAX_BATCH);
      try {
        const hashes = await devices.secretHashes(batch.map((w) => w.deviceId));
        for (const w of batch) w.resolve(hashes.get(w.deviceId) ?? null);
      } catch (err) {
        // Each caller's request fails with the store's error, as its own read would have.
        for (const w of batch) w.reject(err);
      }
    }
    reading = false;
  }

  return (deviceId) =>
    new Promise((resolve, reject) => {
      waiting.push({ deviceId, resolve, reject });
      if (!reading) void drain();
    });
}
