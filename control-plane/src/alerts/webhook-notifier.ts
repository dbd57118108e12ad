/**
 * Delivers alert notifications to the configured webhooks without ever holding up the caller:
 * enqueue() only appends to a bounded in-memory queue (the oldest entry is dropped when full) and
 * a pump sends at most `concurrency` at once, each with a timeout. A failure (network error,
 * timeout, 408, 429, 5xx) is retried after backoffMs, doubled each time up to maxBackoffMs; other
 * 4xx answers are final. Deliveries waiting at close() are dropped (and logged): alerts are state
 * in the database, the notifications about them are best effort.
 */
import type { AlertNotification, AlertsConfig, Logger, WebhookConfig } from '@edgeloop/shared';
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

  function checkIdle(): void {
    if (queue.length > 0 || inFlight.size > 0) return;
    for (const done of idleWaiters.splice(0)) done();
  }

  function push(job: Job): void {
    if (queue.length >= delivery.queueSize) {
      const dropped = queue.shift();
      if (dropped) {
        outcome('dropped', dropped);
        log.warn(
          { webhook: dropped.webhook.name, notification: dropped.n.notificationId },
          'alert delivery queue full: dropped the oldest',
        );
      }
    }
    queue.push(job);
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
          outcome('delivered', job);
          log.debug(context, 'alert delivered');
        } else if (closed) {
          // Stopping: nothing more is sent.
        } else if (failure.retry && job.attempt < delivery.retries) {
          const wait = Math.min(delivery.maxBackoffMs, delivery.backoffMs * 2 ** job.attempt);
          outcome('retried', job);
          log.warn(
            { ...context, reason: failure.reason, retryInMs: wait },
            'alert delivery failed; will retry',
          );
          push({ ...job, attempt: job.attempt + 1, dueAt: Date.now() + wait });
        } else {
          outcome('failed', job);
          log.error({ ...context, reason: failure.reason }, 'alert delivery failed for good');
        }
        schedule();
      });
  }

  return {
    enqueue(n) {
      if (closed) return;
      for (const webhook of deps.webhooks) {
        if (webhook.rules && !webhook.rules.includes(n.alert.rule)) continue;
        push({ webhook, n, attempt: 0, dueAt: 0 });
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
      if (queue.length > 0) log.warn({ pending: queue.length }, 'alert deliveries dropped at shutdown');
      queue.length = 0;
      for (const abort of inFlight) abort.abort(new Error('control plane stopping'));
      inFlight.clear();
      for (const done of idleWaiters.splice(0)) done();
      idleWaiters = [];
    },
  };
}
