/**
 * Evaluates the alert rules every `evaluateSeconds` against the store, opens an alert for each new
 * condition key and resolves firing ones whose condition cleared, and hands each change to the
 * notifier. The database holds the alerts, so a restart neither repeats nor forgets them. Camera
 * restart counts (cumulative per agent run) are remembered here for the rule's window.
 */
import { randomUUID } from 'node:crypto';
import type { Alert, AlertList, AlertsConfig, Logger } from '@edgeloop/shared';
import type { AlertRecord } from '../store/alert-store.ts';
import type { DeviceRecord, Store } from '../store/store.ts';
import { type Condition, evaluateRules } from './alert-rules.ts';
import type { WebhookNotifier } from './webhook-notifier.ts';
import { notification } from './webhook-payload.ts';

/** How long a one-shot notification stays in the dashboard's open list. */
const ONE_SHOT_LISTED_MS = 24 * 3600_000;
/** Pipeline runs the rules look at, newest first. */
const RUNS_LOOKED_AT = 50;

export interface AlertEngine {
  /** One evaluation; returns the alerts that changed (tests). */
  evaluate(now?: Date): Promise<Alert[]>;
  list(query: { status: 'open' | 'all'; limit: number }, now?: Date): Promise<AlertList>;
  /** Firing alerts by rule (metrics). */
  openByRule(): Promise<Record<string, number>>;
  start(): void;
  stop(): void;
}

export interface AlertEngineDeps {
  store: Store;
  config: AlertsConfig;
  notifier: WebhookNotifier;
  logger: Logger;
  /** Told of every alert change (the dashboard's change feed, for instance). */
  onChange?: (alert: Alert) => void;
}

function publicAlert({ key: _key, ...alert }: AlertRecord): Alert {
  return alert;
}

export function createAlertEngine(deps: AlertEngineDeps): AlertEngine {
  const { store, config, notifier, logger: log } = deps;
  const alerts = store.alerts;
  // deviceId → [time, cumulative restarts] samples within the window.
  const restarts = new Map<string, [number, number][]>();
  let timer: NodeJS.Timeout | null = null;
  let watchingSince: Date | null = null;

  function restartsInWindow(d: DeviceRecord, now: number): number {
    const count = d.health?.cameraRestarts;
    if (count === undefined) return 0;
    const windowMs = config.cameraRestarts.windowMinutes * 60_000;
    let history = restarts.get(d.deviceId) ?? [];
    // A lower count means the agent restarted and counts from zero again.
    if (history.length > 0 && count < history[history.length - 1][1]) history = [];
    if (history.length === 0) {
      // An agent that started within the window had restarted its camera `count` times since.
      const uptimeMs = (d.health?.uptimeS ?? Number.POSITIVE_INFINITY) * 1000;
      if (uptimeMs <= windowMs) history.push([now - uptimeMs, 0]);
    }
    if (history.length === 0 || history[history.length - 1][1] !== count) history.push([now, count]);
    // Keep the newest sample at or before the window's start: the count the window starts from.
    while (history.length > 1 && history[1][0] <= now - windowMs) history.shift();
    restarts.set(d.deviceId, history);
    return count - history[0][1];
  }

  /** Each device's drift figures (null: too few predictions yet, or its baseline was just set). */
  async function confidences(devices: readonly DeviceRecord[], at: string) {
    const out = new Map<string, { baseline: number; recent: number; modelVersion: number } | null>();
    const n = config.confidenceDrift.minPredictions;
    const running = devices.flatMap((d) =>
      d.reportedVersion === null ? [] : [{ deviceId: d.deviceId, modelVersion: d.reportedVersion }],
    );
    const figures = await alerts.confidenceFigures(running, n);
    for (const { deviceId, modelVersion } of running) {
      const f = figures.get(deviceId);
      if (!f || f.recentMean === null || f.recentCount < n) continue;
      const mean = f.recentMean;
      if (!f.baseline) {
        await alerts.setBaseline(deviceId, modelVersion, { mean, predictions: f.recentCount }, at);
        continue;
      }
      out.set(deviceId, { baseline: f.baseline.mean, recent: mean, modelVersion });
    }
    return out;
  }

  async function open(c: Condition, at: string): Promise<Alert> {
    const record: AlertRecord = {
      id: randomUUID(),
      key: c.key,
      rule: c.rule,
      severity: c.severity,
      status: 'firing',
      subject: c.subject,
      summary: c.summary,
      details: c.details,
      oneShot: c.oneShot,
      firedAt: at,
      resolvedAt: null,
    };
    await alerts.insert(record);
    log.info(
      { rule: c.rule, subject: c.subject, summary: c.summary },
      c.oneShot ? 'alert notification' : 'alert firing',
    );
    return publicAlert(record);
  }

  async function evaluate(now = new Date()): Promise<Alert[]> {
    const at = now.toISOString();
    const t = now.getTime();
    const firing = new Map((await alerts.firing()).map((a) => [a.key, a]));
    watchingSince ??= now;
    const devices = await store.devices.list();
    // The rules are pure and synchronous: read each device's confidence figures first.
    const drift = config.confidenceDrift.enabled ? await confidences(devices, at) : new Map();
    const conditions = evaluateRules(config, {
      now,
      watchingSince,
      devices,
      rollouts: await store.rollouts.list(),
      runs: await store.pipeline.listRuns(RUNS_LOOKED_AT),
      restartsInWindow: (d) => restartsInWindow(d, t),
      confidence: (d) => drift.get(d.deviceId) ?? null,
      isFiring: (key) => firing.has(key),
    });
    const changed: Alert[] = [];
    const holding = new Set<string>();
    for (const c of conditions) {
      holding.add(c.key);
      if (c.oneShot ? await alerts.seen(c.key) : firing.has(c.key)) continue;
      changed.push(await open(c, at));
    }
    for (const [key, a] of firing) {
      if (holding.has(key)) continue;
      const resolved = await alerts.resolve(a.id, at);
      if (resolved) {
        log.info({ rule: a.rule, subject: a.subject }, 'alert resolved');
        changed.push(publicAlert(resolved));
      }
    }
    for (const alert of changed) {
      notifier.enqueue(notification(alert, now));
      deps.onChange?.(alert);
    }
    return changed;
  }

  return {
    evaluate,
    async list(query, now = new Date()) {
      const rows = await alerts.list({
        open: query.status === 'open',
        oneShotSince: new Date(now.getTime() - ONE_SHOT_LISTED_MS).toISOString(),
        limit: query.limit,
      });
      return { open: (await alerts.firing()).length, alerts: rows.map(publicAlert) };
    },
    async openByRule() {
      const out: Record<string, number> = {};
      for (const a of await alerts.firing()) out[a.rule] = (out[a.rule] ?? 0) + 1;
      return out;
    },
    start() {
      if (timer || !config.enabled) return;
      const tick = () => {
        // The loop boundary: a failed evaluation is logged and the next one tries again.
        evaluate().catch((err: unknown) => log.error({ err }, 'alert evaluation failed'));
      };
      timer = setInterval(tick, config.evaluateSeconds * 1000);
      timer.unref();
      tick();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}
