/**
 * Webhook deliveries not yet settled (waiting, in flight or between retries), so a control-plane
 * restart resends them instead of losing a firing or resolved notification. A row goes when the
 * delivery succeeds, fails for good or is dropped from the full queue.
 */
import { type AlertNotification, AlertNotificationSchema } from '@edgeloop/shared';
import type { SqlDatabase } from './sql.ts';

export interface PendingDelivery {
  /** The webhook's configured name. */
  webhook: string;
  notification: AlertNotification;
  /** Attempts already made. */
  attempt: number;
  /** Not before this time (epoch ms). */
  dueAt: number;
}

export interface WebhookDeliveryStore {
  /** Oldest first, at most `limit`; rows that no longer parse are deleted and left out. */
  pending(limit: number): Promise<PendingDelivery[]>;
  /** Inserts or updates the (webhook, notification) row. */
  save(delivery: PendingDelivery): Promise<void>;
  remove(webhook: string, notificationId: string): Promise<void>;
}

interface Row {
  webhook: string;
  notification_id: string;
  notification: string;
  attempt: number;
  due_at: number;
}

export class SqlWebhookDeliveryStore implements WebhookDeliveryStore {
  constructor(private readonly db: SqlDatabase) {}

  async pending(limit: number): Promise<PendingDelivery[]> {
    const rows = (await this.db
      .prepare('SELECT * FROM webhook_deliveries ORDER BY seq LIMIT ?')
      .all(limit)) as Row[];
    const out: PendingDelivery[] = [];
    for (const r of rows) {
      const parsed = AlertNotificationSchema.safeParse(JSON.parse(r.notification));
      if (!parsed.success) {
        await this.remove(r.webhook, r.notification_id);
        continue;
      }
      out.push({ webhook: r.webhook, notification: parsed.data, attempt: r.attempt, dueAt: r.due_at });
    }
    return out;
  }

  async save(d: PendingDelivery): Promise<void> {
    await this.db
      .prepare(
        `INSERT INTO webhook_deliveries (webhook, notification_id, notification, attempt, due_at)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (webhook, notification_id) DO UPDATE SET attempt = excluded.attempt, due_at = excluded.due_at`,
      )
      .run(d.webhook, d.notification.notificationId, JSON.stringify(d.notification), d.attempt, d.dueAt);
  }

  async remove(webhook: string, notificationId: string): Promise<void> {
    await this.db
      .prepare('DELETE FROM webhook_deliveries WHERE webhook = ? AND notification_id = ?')
      .run(webhook, notificationId);
  }
}
