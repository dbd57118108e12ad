/**
 * Limits on abuse (docs/security.md, "Denial of service and endless data"): how often anyone may
 * try credentials, how much slow password hashing runs at once, what one device may send, and how
 * long device history is kept. Every default is meant to be far above what an honest fleet does.
 */
import { z } from 'zod';

const count = (max = 1_000_000_000) => z.number().int().min(1).max(max);

export const RateLimitsConfigSchema = z
  .object({
    addressBurst: count()
      .default(30)
      .describe(
        'Failed credential checks (sign-in, enrollment, device secrets, MQTT CONNECT) one source address may make at once before it is slowed to addressPerMinute; right ones are not counted.',
      ),
    addressPerMinute: count()
      .default(60)
      .describe('Failed credential checks per minute one source address earns back after its burst.'),
    identityBurst: count()
      .default(10)
      .describe(
        'Failed credential checks for one identity (user name, device id, enrollment token) at once.',
      ),
    identityPerMinute: count()
      .default(10)
      .describe('Failed credential checks per minute one identity earns back after its burst.'),
    hashConcurrency: count(64)
      .default(1)
      .describe(
        'Password hashes (scrypt, ~50 ms of one core each: sign-in, and device secrets an older version stored) computed at once; the rest wait, so a core stays free for health checks and everything else.',
      ),
    hashQueue: z
      .number()
      .int()
      .min(0)
      .max(100_000)
      .default(64)
      .describe(
        'Password hashes that may wait for a turn (a few seconds of work); beyond that a check is refused at once (429).',
      ),
    hashMaxWaitMs: count(600_000)
      .default(2_000)
      .describe(
        'Longest a password hash waits for its turn (ms); then the check is refused (429) rather than left hanging.',
      ),
    trackedKeys: count()
      .default(100_000)
      .describe('Addresses and identities remembered by the limiter (memory bound; oldest forgotten first).'),
  })
  .prefault({})
  .describe('Rate limits on credential checks and the password-hashing queue.');
export type RateLimitsConfig = z.infer<typeof RateLimitsConfigSchema>;

export const DeviceQuotasConfigSchema = z
  .object({
    messagesPerSecond: count()
      .default(50)
      .describe(
        'MQTT messages per second one device may send on each of state, status, predictions, events and frame; more are dropped and counted.',
      ),
    messagesBurst: count()
      .default(200)
      .describe('Messages of one kind a device may send at once before messagesPerSecond applies.'),
    samplesPerHour: count()
      .default(600)
      .describe(
        'Sample uploads per hour per device; more are refused with 429 (the agent keeps them queued).',
      ),
    sampleBytesPerDay: count(Number.MAX_SAFE_INTEGER)
      .default(1024 * 1024 * 1024)
      .describe('Bytes of sample images per device per day; more are refused with 429.'),
    retainedTopicsPerDevice: count(10_000)
      .default(64)
      .describe(
        'Home Assistant discovery topics (retained, one per object id) one device may create on the embedded broker.',
      ),
    mqttMaxPacketBytes: count(256 * 1024 * 1024)
      .default(256 * 1024)
      .describe(
        'Largest MQTT packet the embedded broker accepts; a bigger one closes the connection before it is buffered.',
      ),
  })
  .prefault({})
  .describe('What one device may send.');
export type DeviceQuotasConfig = z.infer<typeof DeviceQuotasConfigSchema>;

export const RetentionConfigSchema = z
  .object({
    deviceEventsDays: count(36_500).default(30).describe('Device events older than this are deleted (days).'),
    deviceEventsPerDevice: count()
      .default(10_000)
      .describe("A device's events beyond its newest this many are deleted."),
    rollbackManifestDays: count(36_500)
      .default(30)
      .describe('Rollback manifests nobody asked for in this long are deleted (days).'),
    pruneIntervalMinutes: z
      .number()
      .positive()
      .max(10_080)
      .default(60)
      .describe('How often old rows are pruned (minutes); also once at start.'),
  })
  .prefault({})
  .describe('How long device history is kept.');
export type RetentionConfig = z.infer<typeof RetentionConfigSchema>;
