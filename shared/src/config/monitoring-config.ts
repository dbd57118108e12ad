/**
 * The control plane's monitoring: who may read /metrics, and the alert rules and webhooks
 * (docs/guides/monitoring.md). Every rule has a default, so `alerts: { webhooks: [...] }` is enough.
 */
import { z } from 'zod';

export const MetricsConfigSchema = z
  .object({
    enabled: z.boolean().default(true).describe('Serve GET /metrics (Prometheus text format).'),
    token: z
      .string()
      .min(16)
      .optional()
      .describe('Bearer token a scraper sends (`Authorization: Bearer …`); the admin token is accepted too.'),
    allowLoopback: z
      .boolean()
      .default(true)
      .describe(
        'Serve /metrics without a token to peers on loopback (127.0.0.1, ::1). Turn off behind a reverse proxy on the same host.',
      ),
  })
  .prefault({})
  .describe('Who may read /metrics: a bearer token, or no credentials from loopback only.');
export type MetricsConfig = z.infer<typeof MetricsConfigSchema>;

export const AlertRuleIdSchema = z.enum([
  'device-offline',
  'camera-restarts',
  'sample-queue-full',
  'rollout-paused',
  'rollout-aborted',
  'rollout-completed',
  'pipeline-failed',
  'pipeline-promoted',
  'confidence-drift',
]);
export type AlertRuleId = z.infer<typeof AlertRuleIdSchema>;

export const WebhookConfigSchema = z.object({
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/)
    .describe('Name of the receiver, shown in logs and metrics.'),
  url: z.url().describe('Where notifications are POSTed.'),
  format: z
    .enum(['json', 'slack', 'teams'])
    .default('json')
    .describe(
      "'json': the edgeloop alert document; 'slack': a `{text}` message; 'teams': a MessageCard (both for incoming webhooks).",
    ),
  secret: z
    .string()
    .min(16)
    .optional()
    .describe(
      'HMAC-SHA256 key: each body is signed in the `X-Edgeloop-Signature: t=<unix s>,v1=<hex>` header over `<t>.<body>`.',
    ),
  rules: z
    .array(AlertRuleIdSchema)
    .optional()
    .describe('Only these rules are sent to this receiver; all when absent.'),
});
export type WebhookConfig = z.infer<typeof WebhookConfigSchema>;

const Minutes = z.number().positive();

export const AlertsConfigSchema = z
  .object({
    enabled: z.boolean().default(true).describe('Evaluate alert rules (and deliver them to webhooks).'),
    evaluateSeconds: z
      .number()
      .min(0.05)
      .max(3600)
      .default(15)
      .describe('How often the rules are evaluated (s).'),
    webhooks: z.array(WebhookConfigSchema).default([]).describe('Receivers of alert notifications.'),
    delivery: z
      .object({
        timeoutMs: z
          .number()
          .int()
          .min(100)
          .default(5_000)
          .describe('A receiver that has not answered after this long counts as failed (ms).'),
        retries: z
          .number()
          .int()
          .min(0)
          .max(20)
          .default(6)
          .describe('Further attempts after a failed delivery.'),
        backoffMs: z
          .number()
          .int()
          .min(1)
          .default(1_000)
          .describe('Wait before the first retry; doubled for each further one (ms).'),
        maxBackoffMs: z
          .number()
          .int()
          .min(1)
          .default(5 * 60_000)
          .describe('Longest wait between retries (ms).'),
        queueSize: z
          .number()
          .int()
          .min(1)
          .default(1_000)
          .describe('Deliveries waiting at most; the oldest is dropped (and counted) past it.'),
        concurrency: z.number().int().min(1).max(64).default(4).describe('Deliveries in flight at once.'),
      })
      .prefault({})
      .describe('Webhook delivery: timeouts, retries with exponential backoff, a bounded queue.'),
    deviceOffline: z
      .object({
        enabled: z.boolean().default(true).describe('Alert when a device stays offline.'),
        minutes: Minutes.default(5).describe('Minutes offline before the alert fires.'),
      })
      .prefault({})
      .describe('A device offline for N minutes; resolves when it is back.'),
    cameraRestarts: z
      .object({
        enabled: z.boolean().default(true).describe('Alert on a camera that keeps restarting.'),
        restarts: z
          .number()
          .int()
          .min(1)
          .default(3)
          .describe('Camera restarts within the window that fire the alert.'),
        windowMinutes: Minutes.default(15).describe('The window restarts are counted in (min).'),
      })
      .prefault({})
      .describe("A device's camera restarting repeatedly (from its heartbeat's restart count)."),
    sampleQueue: z
      .object({
        enabled: z.boolean().default(true).describe('Alert on a device whose sample queue is nearly full.'),
        depth: z
          .number()
          .int()
          .min(1)
          .default(800)
          .describe("Queued samples that fire the alert (the agent's samples.maxQueued defaults to 1000)."),
      })
      .prefault({})
      .describe("A device's on-disk sample queue near full (uploads are not getting through)."),
    rollouts: z
      .object({
        paused: z
          .boolean()
          .default(true)
          .describe('Alert while a rollout is paused; resolves when it moves on.'),
        aborted: z.boolean().default(true).describe('Notify once when a rollout is aborted.'),
        completed: z.boolean().default(true).describe('Notify once when a rollout completes.'),
      })
      .prefault({})
      .describe('Rollout state changes.'),
    pipeline: z
      .object({
        failed: z
          .boolean()
          .default(true)
          .describe('Alert when a pipeline run fails; resolves when a later run succeeds.'),
        promoted: z.boolean().default(true).describe('Notify once when a run promotes a model.'),
      })
      .prefault({})
      .describe('Retraining pipeline outcomes.'),
    confidenceDrift: z
      .object({
        enabled: z
          .boolean()
          .default(true)
          .describe("Alert when a device's mean confidence drops against its own baseline."),
        drop: z
          .number()
          .min(0.01)
          .max(1)
          .default(0.15)
          .describe('Fall of the recent mean top-1 confidence below the baseline that fires (absolute).'),
        minPredictions: z
          .number()
          .int()
          .min(5)
          .max(100)
          .default(50)
          .describe(
            'Predictions of one model version needed for a baseline, and in the recent window (the control plane keeps 100 per device).',
          ),
      })
      .prefault({})
      .describe(
        "Drift: the baseline is a device's mean confidence over its first predictions with a model version.",
      ),
    eventLookbackMinutes: Minutes.default(60).describe(
      'One-shot notifications (rollout aborted/completed, model promoted) are sent for changes this recent; older history is not replayed after an upgrade.',
    ),
  })
  .prefault({})
  .describe('Alert rules and their webhook receivers (docs/guides/monitoring.md).');
export type AlertsConfig = z.infer<typeof AlertsConfigSchema>;
