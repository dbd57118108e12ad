/**
 * Delivers alert notifications to the configured webhooks without ever holding up the caller:
 * enqueue() only appends to a bounded in-memory queue (the oldest entry is dropped when full) and
 * a pump sends at most `concurrency` at once, each with a timeout. A failure (network error,
 * timeout, 408, 429, 5xx) is retried after backoffMs, doubled each time up to maxBackoffMs; other
 * 4xx answers are final.
 *
 * With a `store`, every delivery not yet settled is also a database row (written on enqueue and on
 * each retry, deleted once delivered, failed for good or dropped), and the notifier starts with
 * the rows left by the previous run: a restart resends, it does not lose, a firing or resolved
 * notification. The same notification is queued once per webhook. A crash between a receiver's
 * answer and the row's deletion sends it again; receivers deduplicate on the notification id
 * header.
 */
import type { AlertNotification, AlertsConfig, Logger, WebhookConfig } from '@edgeloop/shared';
import type { WebhookDeliveryStore } from '../store/webhook-delivery-store.ts';
import { NOTIFICATION_ID_HEADER, renderBody, SIGNATURE_HEADER, sign } from './webhook-payload.ts';

export interface WebhookNotifier {
  enqueue(n: AlertNotification): void;
  /** Deliveries waiting or in flight. */
  depth(): number;
  /** Resolves once nothing is waiting or in flight (tests). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export type DeliveryOutcome = 'delivered' | 'retried' | 'failed' | 'dropped';

export interface WebhookNotifierDeps {
  webhooks: readonly WebhookConfig[];
  delivery: AlertsConfig['delivery'];
  logger: Logger;
  onOutcome?: (outcome: DeliveryOutcome, webhook: string) => void;
  /** Injected for tests; the global fetch otherwise. */
  fetch?: typeof fetch;
  now?: () => Date;
  /** Where deliveries not yet settled are kept across restarts; memory only when absent. */
  store?: WebhookDeliveryStore;
}

interface Job {
  webhook: WebhookConfig;
  n: AlertNotification;
  attempt: number;
  dueAt: number;
}

const RETRYABLE = (status: number) => status === 408 || status === 429 || status >= 500;

export function createWebhookNotifier(deps: WebhookNotifierDeps): WebhookNotifier {
  const { delivery, logger: log } = deps;
  const doFetch = deps.fetch ?? fetch;
  const now = deps.now ?? (() => new Date());
  const queue: Job[] = [];
  const inFlight = new Set<AbortController>();
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  let idleWaiters: (() => void)[] = [];

  const outcome = (o: DeliveryOutcome, job: Job) => deps.onOutcome?.(o, job.webhook.name);
  // Stored in the background; a failed write only loses the delivery's survival of a restart.
  const stored = (write: Promise<void> | undefined) =>
    void write?.catch((err: unknown) => log.error({ err }, 'storing alert delivery failed'));
  const persist = (job: Job) =>
    stored(
      deps.store?.save({
        webhook: job.webhook.name,
        notification: job.n,
        attempt: job.attempt,
        dueAt: job.dueAt,
      }),
    );
  const settle = (job: Job) => stored(deps.store?.remove(job.webhook.name, job.n.notificationId));
  /** webhook name + notification id of every delivery waiting or in flight (deduplication). */
  const pending = new Set<string>();
  const keyOf = (job: Job) => `${job.webhook.name}\u0000${job.n.notificationId}`;
  const finish = (job: Job) => {
    pending.delete(keyOf(job));
    settle(job);
  };

  function checkIdle(): void {
    if (queue.length > 0 || inFlight.size > 0) return;
    for (const done of idleWaiters.splice(0)) done();
  }

  function push(job: Job): void {
    if (queue.length >= delivery.queueSize) {
      const dropped = queue.shift();
      if (dropped) {
        finish(dropped);
        outcome('dropped', dropped);
        log.warn(
          { webhook: dropped.webhook.name, notification: dropped.n.notificationId },
          'alert delivery queue full: dropped the oldest',
        );
      }
    }
    queue.push(job);
    pending.add(keyOf(job));
    persist(job);
  }

  function schedule(): void {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = null;
    const t = Date.now();
    while (inFlight.size < delivery.concurrency) {
      const index = queue.findIndex((j) => j.dueAt <= t);
      if (index < 0) break;
      const [job] = queue.splice(index, 1);
      send(job);
    }
    const next = Math.min(...queue.map((j) => j.dueAt));
    if (Number.isFinite(next) && inFlight.size < delivery.concurrency) {
      timer = setTimeout(schedule, Math.max(0, next - Date.now()));
      timer.unref();
    }
    checkIdle();
  }

  function send(job: Job): void {
    const abort = new AbortController();
    inFlight.add(abort);
    const timeout = setTimeout(
      () => abort.abort(new Error(`timed out after ${delivery.timeoutMs} ms`)),
      delivery.timeoutMs,
    );
    const body = renderBody(job.webhook.format, job.n);
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'User-Agent': 'edgeloop-alerts',
      [NOTIFICATION_ID_HEADER]: job.n.notificationId,
    };
    if (job.webhook.secret) headers[SIGNATURE_HEADER] = sign(job.webhook.secret, body, now());
    doFetch(job.webhook.url, { method: 'POST', headers, body, signal: abort.signal, redirect: 'error' })
      .then(async (res) => {
        // Drain the body so the connection can be reused; its content does not matter.
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) return null;
        return { retry: RETRYABLE(res.status), reason: `HTTP ${res.status}` };
      })
      .catch((err: Error) => ({
        retry: true,
        reason: abort.signal.aborted ? String(abort.signal.reason?.message ?? 'aborted') : err.message,
      }))
      .then((failure) => {
        clearTimeout(timeout);
        inFlight.delete(abort);
        const context = {
          webhook: job.webhook.name,
          notification: job.n.notificationId,
          attempt: job.attempt + 1,
        };
        if (!failure) {
          finish(job);
          outcome('delivered', job);
          log.debug(context, 'alert delivered');
        } else if (closed) {
          // Stopping: nothing more is sent now; the stored row is sent again at the next start.
        } else if (failure.retry && job.attempt < delivery.retries) {
          const wait = Math.min(delivery.maxBackoffMs, delivery.backoffMs * 2 ** job.attempt);
          outcome('retried', job);
          log.warn(
            { ...context, reason: failure.reason, retryInMs: wait },
            'alert delivery failed; will retry',
          );
          push({ ...job, attempt: job.attempt + 1, dueAt: Date.now() + wait });
        } else {
          finish(job);
          outcome('failed', job);
          log.error({ ...context, reason: failure.reason }, 'alert delivery failed for good');
        }
        schedule();
      });
  }

  // Deliveries the previous run left unsettled, in their order, with their attempts so far.
  // Read in the background: the store is async and the notifier is usable at once.
  const kept = deps.store;
  if (kept) {
    void (async () => {
      const byName = new Map(deps.webhooks.map((w) => [w.name, w]));
      for (const row of await kept.pending(delivery.queueSize)) {
        const webhook = byName.get(row.webhook);
        if (!webhook) {
          log.warn(
            { webhook: row.webhook, notification: row.notification.notificationId },
            'stored alert delivery for a webhook no longer configured: dropped',
          );
          await kept.remove(row.webhook, row.notification.notificationId);
          continue;
        }
        queue.push({ webhook, n: row.notification, attempt: row.attempt, dueAt: row.dueAt });
        pending.add(keyOf(queue[queue.length - 1]));
      }
      if (queue.length > 0) log.info({ pending: queue.length }, 'resuming stored alert deliveries');
      schedule();
    })().catch((err: unknown) => log.error({ err }, 'reading stored alert deliveries failed'));
  }

  return {
    enqueue(n) {
      if (closed) return;
      for (const webhook of deps.webhooks) {
        if (webhook.rules && !webhook.rules.includes(n.alert.rule)) continue;
        const job: Job = { webhook, n, attempt: 0, dueAt: 0 };
        if (pending.has(keyOf(job))) continue;
        push(job);
      }
      schedule();
    },
    depth: () => queue.length + inFlight.size,
    idle() {
      if (queue.length === 0 && inFlight.size === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      if (queue.length > 0 || inFlight.size > 0) {
        const left = queue.length + inFlight.size;
        if (deps.store) log.info({ pending: left }, 'alert deliveries kept for the next start');
        else log.warn({ pending: left }, 'alert deliveries dropped at shutdown');
      }
      queue.length = 0;
      for (const abort of inFlight) abort.abort(new Error('control plane stopping'));
      inFlight.clear();
      for (const done of idleWaiters.splice(0)) done();
      idleWaiters = [];
    },
  };
}
