/**
 * Alerts (rules in control-plane/src/alerts, route in api/routes/alerts.ts) and the document a
 * webhook receiver gets. A condition alert (device offline, rollout paused, …) fires once and is
 * resolved once when its condition clears; a one-shot alert (rollout completed, model promoted)
 * is a notification that never resolves.
 */
import { z } from 'zod';
import { AlertRuleIdSchema } from '../config/monitoring-config.ts';
import { PROTOCOL_VERSION } from '../protocol.ts';

export const AlertSeveritySchema = z.enum(['critical', 'warning', 'info']);
export type AlertSeverity = z.infer<typeof AlertSeveritySchema>;

export const AlertSchema = z.object({
  /** Stable across the firing and the resolution: receivers deduplicate on it. */
  id: z.string(),
  rule: AlertRuleIdSchema,
  severity: AlertSeveritySchema,
  status: z.enum(['firing', 'resolved']),
  /** What the alert is about. */
  subject: z.object({ kind: z.enum(['device', 'rollout', 'pipeline-run']), id: z.string() }),
  summary: z.string(),
  details: z.record(z.string(), z.unknown()),
  oneShot: z.boolean(),
  firedAt: z.iso.datetime(),
  resolvedAt: z.iso.datetime().nullable(),
});
export type Alert = z.infer<typeof AlertSchema>;

export const AlertListSchema = z.object({
  /** Firing condition alerts (one-shot notifications are not counted). */
  open: z.number().int().nonnegative(),
  alerts: z.array(AlertSchema),
});
export type AlertList = z.infer<typeof AlertListSchema>;

export const AlertQuerySchema = z.object({
  status: z
    .enum(['open', 'all'])
    .default('open')
    .meta({ description: "'open': firing alerts and recent notifications" }),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

/** The JSON body POSTed to a webhook (format 'json'); signed, see docs/guides/monitoring.md. */
export const AlertNotificationSchema = z.object({
  protocol: z.literal(PROTOCOL_VERSION),
  type: z.literal('alert'),
  /** Unique per notification (the firing and the resolution differ); for receivers' idempotency. */
  notificationId: z.string(),
  status: z.enum(['firing', 'resolved']),
  alert: AlertSchema,
  sentAt: z.iso.datetime(),
});
export type AlertNotification = z.infer<typeof AlertNotificationSchema>;
