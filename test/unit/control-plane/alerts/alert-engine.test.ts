/**
 * The alert rules that need history, against a real SQLite store: camera restarts counted within
 * their window (and across an agent restart), the sample queue, drift against a device's own
 * baseline, a paused rollout that resolves, and a failed pipeline run resolved by a later success.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Alert,
  type AlertNotification,
  AlertsConfigSchema,
  createLogger,
  type DeviceHealth,
  type ReportedState,
  RolloutStrategySchema,
} from '@edgeloop/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAlertEngine } from '../../../../control-plane/src/alerts/alert-engine.ts';
import type { WebhookNotifier } from '../../../../control-plane/src/alerts/webhook-notifier.ts';
import { openSqliteStore } from '../../../../control-plane/src/store/sqlite-store.ts';
import type { Store } from '../../../../control-plane/src/store/store.ts';
import { testManifest } from '../../../helpers/manifest-fixture.ts';

const logger = createLogger({ level: 'silent' });
let dir: string;
let store: Store;
let sent: AlertNotification[];

const notifier: WebhookNotifier = {
  enqueue: (n) => sent.push(n),
  depth: () => 0,
  idle: async () => {},
  close: async () => {},
};

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgeloop-alerts-'));
  store = await openSqliteStore(join(dir, 'db.sqlite'), logger);
  sent = [];
  await store.devices.createEnrollmentToken({
    tokenHash: 'h',
    group: 'default',
    usesLeft: 5,
    expiresAt: '2999-01-01T00:00:00Z',
  });
  await store.devices.enroll(
    'h',
    { deviceId: 'cam-1', name: null, hardware: null, secretHash: 'x' },
    new Date(),
  );
  const now = new Date().toISOString();
  await store.models.insert({
    modelVersion: 1,
    name: 'm1',
    manifest: testManifest(new Uint8Array([1, 2, 3]), { modelVersion: 1, name: 'm1' }),
    metrics: null,
    createdAt: now,
    publishedAt: now,
  });
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function engine(config = {}) {
  return createAlertEngine({ store, config: AlertsConfigSchema.parse(config), notifier, logger });
}

async function online(at: Date) {
  await store.devices.recordStatus(
    'cam-1',
    { protocol: 1, online: true, at: at.toISOString() },
    at.toISOString(),
  );
}

async function report(at: Date, health: Partial<DeviceHealth>, modelVersion: number | null = null) {
  const state: ReportedState = {
    protocol: 1,
    modelVersion,
    status: 'running',
    agentVersion: '0.1.0',
    framesProcessed: 0,
    samplesQueued: health.queueDepth ?? 0,
    reportedAt: at.toISOString(),
    health: {
      fps: 5,
      latencyP50Ms: 10,
      latencyP95Ms: 20,
      framesDropped: 0,
      cameraRestarts: 0,
      queueDepth: 0,
      evictions: 0,
      uptimeS: 3600,
      cpuTemperatureC: null,
      ...health,
    },
  };
  await store.devices.recordReportedState('cam-1', state, at.toISOString());
}

const rules = (alerts: Alert[]) => alerts.map((a) => `${a.rule}:${a.status}`);
const at = (minutes: number) => new Date(Date.UTC(2026, 0, 1, 12, 0) + minutes * 60_000);

describe('alert engine', () => {
  it('counts offline time from its own start, and keeps an alert open across a restart', async () => {
    // The device was last seen an hour before the control plane (re)started.
    await store.devices.recordStatus(
      'cam-1',
      { protocol: 1, online: false, at: at(-60).toISOString() },
      at(-60).toISOString(),
    );
    const first = engine({ deviceOffline: { minutes: 5 } });
    expect(rules(await first.evaluate(at(0)))).toEqual([]);
    expect(rules(await first.evaluate(at(4)))).toEqual([]);
    expect(rules(await first.evaluate(at(5)))).toEqual(['device-offline:firing']);
    const restarted = engine({ deviceOffline: { minutes: 5 } });
    expect(rules(await restarted.evaluate(at(6)))).toEqual([]);
    expect(rules(await restarted.evaluate(at(20)))).toEqual([]);
    await online(at(21));
    expect(rules(await restarted.evaluate(at(21)))).toEqual(['device-offline:resolved']);
    expect(sent).toHaveLength(2);
  });

  it('counts camera restarts within the window, also after the agent restarted', async () => {
    const e = engine({ cameraRestarts: { restarts: 3, windowMinutes: 10 } });
    await online(at(0));
    await report(at(0), { cameraRestarts: 5 });
    // Restarts from before the window (an agent up for an hour) do not count.
    expect(rules(await e.evaluate(at(0)))).toEqual([]);
    await report(at(2), { cameraRestarts: 7 });
    expect(rules(await e.evaluate(at(2)))).toEqual([]);
    await report(at(4), { cameraRestarts: 8 });
    expect(rules(await e.evaluate(at(4)))).toEqual(['camera-restarts:firing']);
    expect(rules(await e.evaluate(at(5)))).toEqual([]);
    // Ten minutes on, the window holds no restart: resolved.
    expect(rules(await e.evaluate(at(15)))).toEqual(['camera-restarts:resolved']);
    // The agent restarted 1 minute ago and its camera failed 3 times since.
    await report(at(16), { cameraRestarts: 3, uptimeS: 60 });
    expect(rules(await e.evaluate(at(16)))).toEqual(['camera-restarts:firing']);
  });

  it('fires on a nearly full sample queue and resolves when it drains', async () => {
    const e = engine({ sampleQueue: { depth: 100 } });
    await online(at(0));
    await report(at(0), { queueDepth: 120 });
    expect(rules(await e.evaluate(at(0)))).toEqual(['sample-queue-full:firing']);
    await report(at(1), { queueDepth: 10 });
    expect(rules(await e.evaluate(at(1)))).toEqual(['sample-queue-full:resolved']);
  });

  it("fires when a device's mean confidence falls below its own baseline", async () => {
    const e = engine({ confidenceDrift: { drop: 0.2, minPredictions: 10 } });
    await online(at(0));
    await report(at(0), {}, 1);
    const predict = async (confidence: number, n: number) => {
      for (let i = 0; i < n; i++) {
        await store.devices.recordPrediction(
          'cam-1',
          {
            protocol: 1,
            modelVersion: 1,
            frameId: `f${i}`,
            capturedAt: at(0).toISOString(),
            topK: [{ label: 'red', confidence }],
            latencyMs: 5,
          },
          at(0).toISOString(),
        );
      }
    };
    await predict(0.9, 10);
    expect(rules(await e.evaluate(at(0)))).toEqual([]); // baseline 0.9 taken
    await predict(0.8, 10);
    expect(rules(await e.evaluate(at(1)))).toEqual([]);
    await predict(0.6, 10);
    const fired = await e.evaluate(at(2));
    expect(rules(fired)).toEqual(['confidence-drift:firing']);
    expect(fired[0].summary).toContain('from 90% to 60%');
    await predict(0.85, 10);
    expect(rules(await e.evaluate(at(3)))).toEqual(['confidence-drift:resolved']);
  });

  it('resolves a paused rollout once it runs again, and notifies a completed one once', async () => {
    const e = engine();
    const t0 = new Date();
    const iso = (ms: number) => new Date(t0.getTime() + ms).toISOString();
    await store.rollouts.create(
      {
        rolloutId: 'r1',
        modelVersion: 1,
        target: { all: true },
        strategy: RolloutStrategySchema.parse({ waves: [{ percent: 100 }] }),
        state: 'running',
        currentWave: 0,
        waves: [],
        reason: null,
        createdAt: iso(0),
        updatedAt: iso(0),
      },
      [],
    );
    expect(rules(await e.evaluate(t0))).toEqual([]);
    await store.rollouts.update('r1', { state: 'paused', reason: 'gate failed' }, iso(1000));
    expect(rules(await e.evaluate(new Date(t0.getTime() + 1000)))).toEqual(['rollout-paused:firing']);
    await store.rollouts.update('r1', { state: 'running', reason: null }, iso(2000));
    expect(rules(await e.evaluate(new Date(t0.getTime() + 2000)))).toEqual(['rollout-paused:resolved']);
    await store.rollouts.update('r1', { state: 'completed' }, iso(3000));
    expect(rules(await e.evaluate(new Date(t0.getTime() + 3000)))).toEqual(['rollout-completed:firing']);
    expect(rules(await e.evaluate(new Date(t0.getTime() + 4000)))).toEqual([]);
    // One-shot notifications are listed for the header but not counted as open.
    const listed = await e.list({ status: 'open', limit: 10 }, new Date(t0.getTime() + 4000));
    expect(listed.open).toBe(0);
    expect(listed.alerts.map((a) => a.rule)).toEqual(['rollout-completed']);
  });

  it('does not replay old history: one-shot changes older than the lookback are not sent', async () => {
    const e = engine({ eventLookbackMinutes: 10 });
    await store.rollouts.create(
      {
        rolloutId: 'old',
        modelVersion: 1,
        target: { all: true },
        strategy: RolloutStrategySchema.parse({ waves: [{ percent: 100 }] }),
        state: 'aborted',
        currentWave: 0,
        waves: [],
        reason: 'long ago',
        createdAt: at(0).toISOString(),
        updatedAt: at(0).toISOString(),
      },
      [],
    );
    expect(rules(await e.evaluate(at(30)))).toEqual([]);
  });

  it('keeps one alert per failed run until a later run succeeds', async () => {
    const e = engine();
    const run = async (id: string, minute: number) => {
      await store.pipeline.createRun({
        id,
        trigger: 'manual',
        requestedBy: 'admin',
        createdAt: at(minute).toISOString(),
        steps: ['export'],
      });
    };
    const now = new Date();
    run('run-1', 0);
    await store.pipeline.setRun('run-1', {
      status: 'failed',
      finishedAt: now.toISOString(),
      error: 'no base dataset',
    });
    expect(rules(await e.evaluate(now))).toEqual(['pipeline-failed:firing']);
    expect(rules(await e.evaluate(now))).toEqual([]);
    run('run-2', 1);
    await store.pipeline.setRun('run-2', { status: 'succeeded', finishedAt: now.toISOString() });
    expect(rules(await e.evaluate(now))).toEqual(['pipeline-failed:resolved']);
    expect(sent.map((n) => n.notificationId.split(':')[1])).toEqual(['firing', 'resolved']);
  });
});
