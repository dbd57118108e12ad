/**
 * What one device may send (config `quotas`): MQTT messages per second of each kind, sample
 * uploads per hour and sample bytes per day. Over-quota messages are dropped and uploads refused
 * (429 with Retry-After; the agent keeps the sample queued and tries later), each one counted;
 * nothing waits, so a noisy device never slows the event loop for the others.
 */
import { type DeviceQuotasConfig, type Logger, RateLimitedError } from '@edgeloop/shared';
import { createMemoryRateLimiter, type RateLimiter } from './rate-limiter.ts';

export interface DeviceQuotas {
  /** Whether a message of `kind` from the device fits its quota; false means drop it. */
  message(deviceId: string, kind: string): Promise<boolean>;
  /** Spends one sample upload of `bytes`; throws RateLimitedError when over quota. */
  sample(deviceId: string, bytes: number): Promise<void>;
}

/** Buckets are per device (and kind), so this many devices' worth of keys are kept. */
const TRACKED_KEYS = 200_000;

export function createDeviceQuotas(
  config: DeviceQuotasConfig,
  options: {
    logger: Logger;
    onExceeded?: (kind: string) => void;
    limiters?: Partial<Record<'messages' | 'samples' | 'bytes', RateLimiter>>;
  },
): DeviceQuotas {
  const bucket = (burst: number, perSecond: number) =>
    createMemoryRateLimiter({ burst, perSecond, maxKeys: TRACKED_KEYS });
  const messages = options.limiters?.messages ?? bucket(config.messagesBurst, config.messagesPerSecond);
  const samples = options.limiters?.samples ?? bucket(config.samplesPerHour, config.samplesPerHour / 3600);
  const bytes =
    options.limiters?.bytes ?? bucket(config.sampleBytesPerDay, config.sampleBytesPerDay / 86_400);
  // One warning per device and kind per minute at most: the log must not become the flood.
  const warned = new Map<string, number>();
  const exceeded = (deviceId: string, kind: string) => {
    options.onExceeded?.(kind);
    const key = `${deviceId}/${kind}`;
    const now = Date.now();
    if ((warned.get(key) ?? 0) > now) return;
    if (warned.size > 10_000) warned.clear();
    warned.set(key, now + 60_000);
    options.logger.warn({ deviceId, kind }, 'device over its quota: dropping or refusing');
  };

  return {
    async message(deviceId, kind) {
      const ok = (await messages.take(`${deviceId}/${kind}`)).allowed;
      if (!ok) exceeded(deviceId, kind);
      return ok;
    },
    async sample(deviceId, size) {
      const count = await samples.take(deviceId);
      if (!count.allowed) {
        exceeded(deviceId, 'samples');
        throw new RateLimitedError(
          `device ${deviceId} is over its samples per hour`,
          count.retryAfterSeconds,
        );
      }
      const volume = await bytes.take(deviceId, size);
      if (!volume.allowed) {
        await samples.refund(deviceId);
        exceeded(deviceId, 'sample-bytes');
        throw new RateLimitedError(
          `device ${deviceId} is over its sample bytes per day`,
          volume.retryAfterSeconds,
        );
      }
    },
  };
}
