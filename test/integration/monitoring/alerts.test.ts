/**
 * Alerts end to end: a real control plane and agents (fleet.ts) and a real webhook receiver on
 * loopback. Offline, rollout-aborted and pipeline-failed alerts arrive within their deadline,
 * signed and once; the offline alert resolves when the device comes back; a receiver that is down
 * does not slow API requests.
 */
import { type AlertNotification, AlertNotificationSchema } from '@edgeloop/shared';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Received,
  startWebhookReceiver,
  verifySignature,
  type WebhookReceiver,
} from '../../helpers/webhook-receiver.ts';
import {
  createToken,
  enroll,
  jsonBody,
  startTestControlPlane,
  type TestControlPlane,
} from '../control-plane/helpers.ts';
import { type Fleet, fleetModel, startFleet, waitUntil } from '../rollouts/fleet.ts';

const SECRET = 'webhook-secret-for-tests';
const EVALUATE_S = 0.1;
/** Offline alerts fire after this long (0.02 min = 1.2 s). */
const OFFLINE_MIN = 0.02;
/** Evaluation period + delivery + a loaded CI machine. */
const MARGIN_MS = 3_000;

let receiver: WebhookReceiver;
let fleet: Fleet | null = null;
let t: TestControlPlane | null = null;

afterEach(async () => {
  await fleet?.close();
  fleet = null;
  await t?.stop();
  t = null;
  await receiver?.close();
});

function alertsConfig(url: string, delivery = {}) {
  return {
    alerts: {
      evaluateSeconds: EVALUATE_S,
      deviceOffline: { minutes: OFFLINE_MIN },
      webhooks: [{ name: 'ops', url, secret: SECRET }],
      delivery: { backoffMs: 50, ...delivery },
    },
  };
}

function notificationOf(r: Received): AlertNotification {
  expect(verifySignature(SECRET, r.headers['x-edgeloop-signature'] as string, r.body)).toBe(true);
  expect(
    verifySignature('some-other-secret-value', r.headers['x-edgeloop-signature'] as string, r.body),
  ).toBe(false);
  return AlertNotificationSchema.parse(r.json);
}

const is = (rule: string, status: string) => (r: Received) =>
  (r.json.alert as { rule: string }).rule === rule && r.json.status === status;

/** A few evaluation periods with nothing new, so a repeat would have shown up. */
async function quietPeriods(n = 5): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, n * EVALUATE_S * 1000 + 300));
}

describe('alerts to a webhook', () => {
  it('device offline: fires after N minutes, signed and once, and resolves when the device returns', async () => {
    receiver = await startWebhookReceiver();
    fleet = await startFleet(1, alertsConfig(receiver.url));
    const [id] = fleet.ids;
    await waitUntil(async () => (await fleet?.t.cp.store.devices.get(id))?.online, 'device online');

    // Timed from the stop: the device cannot have gone offline before it, while seeing the store
    // say so may lag on a busy machine (the report is written in a batch).
    const wentOffline = performance.now();
    await fleet.stopAgent(id);
    await waitUntil(
      async () => (await fleet?.t.cp.store.devices.get(id))?.online === false,
      'device offline',
    );
    // (Between enrolling and its first connection the device was offline too; that alert is older.)
    const fired = await receiver.waitFor(
      (r) => is('device-offline', 'firing')(r) && r.at > wentOffline,
      OFFLINE_MIN * 60_000 + MARGIN_MS * 2,
    );
    const elapsed = fired.at - wentOffline;
    expect(elapsed).toBeGreaterThanOrEqual(OFFLINE_MIN * 60_000 - 200);
    expect(elapsed).toBeLessThan(OFFLINE_MIN * 60_000 + MARGIN_MS);
    const n = notificationOf(fired);
    expect(n.alert).toMatchObject({
      subject: { kind: 'device', id },
      severity: 'critical',
      status: 'firing',
    });
    expect(fired.headers['x-edgeloop-notification-id']).toBe(`${n.alert.id}:firing`);

    // Listed for the dashboard's header while it is open.
    const open = (await (await fleet.t.api('/alerts', { admin: true })).json()) as {
      open: number;
      alerts: { id: string }[];
    };
    expect(open.open).toBe(1);
    expect(open.alerts.map((a) => a.id)).toContain(n.alert.id);

    await fleet.startAgent(id);
    const resolved = notificationOf(
      await receiver.waitFor(
        (r) => is('device-offline', 'resolved')(r) && (r.json.alert as { id: string }).id === n.alert.id,
        MARGIN_MS * 2,
      ),
    );
    expect(resolved.alert.id).toBe(n.alert.id);
    expect(resolved.alert.resolvedAt).not.toBeNull();

    await quietPeriods();
    const forDevice = receiver.received.filter((r) => (r.json.alert as { id: string }).id === n.alert.id);
    expect(forDevice.map((r) => r.json.status)).toEqual(['firing', 'resolved']);
    const after = (await (await fleet.t.api('/alerts', { admin: true })).json()) as { open: number };
    expect(after.open).toBe(0);
  });

  it('rollout aborted: one signed notification within the evaluation period', async () => {
    receiver = await startWebhookReceiver();
    fleet = await startFleet(1, alertsConfig(receiver.url));
    await fleet.publish(1, fleetModel('confident', 1));
    const rollout = await fleet.api.createRollout({
      modelVersion: 1,
      target: { all: true },
      strategy: { waves: [{ devices: 1 }], soakSeconds: 600, gates: { minPredictions: 5 } },
    });
    const started = performance.now();
    await fleet.api.rolloutAction(rollout.rolloutId, 'abort', 'operator saw smoke');
    const fired = await receiver.waitFor(is('rollout-aborted', 'firing'), MARGIN_MS * 2);
    expect(fired.at - started).toBeLessThan(EVALUATE_S * 1000 + MARGIN_MS);
    const n = notificationOf(fired);
    expect(n.alert).toMatchObject({ subject: { kind: 'rollout', id: rollout.rolloutId }, oneShot: true });
    expect(n.alert.summary).toContain('operator saw smoke');

    await quietPeriods();
    expect(receiver.received.filter(is('rollout-aborted', 'firing'))).toHaveLength(1);
    // The restarted control plane remembers it was sent.
    await fleet.restartControlPlane();
    await quietPeriods();
    expect(receiver.received.filter(is('rollout-aborted', 'firing'))).toHaveLength(1);
  });

  it('pipeline failed: one signed notification within the evaluation period', async () => {
    receiver = await startWebhookReceiver();
    // No base dataset: the run's first step fails at once.
    t = await startTestControlPlane({ ...alertsConfig(receiver.url), pipeline: { retries: 0 } });
    const res = await t.api('/pipeline/runs', { ...jsonBody({ protocol: 1 }), admin: true });
    expect(res.status).toBe(202);
    const { id: runId } = (await res.json()) as { id: string };
    await t.cp.pipeline.idle();
    const failedAt = performance.now();
    const fired = await receiver.waitFor(is('pipeline-failed', 'firing'), MARGIN_MS * 2);
    expect(fired.at - failedAt).toBeLessThan(EVALUATE_S * 1000 + MARGIN_MS);
    const n = notificationOf(fired);
    expect(n.alert).toMatchObject({ subject: { kind: 'pipeline-run', id: runId }, severity: 'critical' });
    await quietPeriods();
    expect(receiver.received.filter(is('pipeline-failed', 'firing'))).toHaveLength(1);
  });
});

describe('a webhook receiver that is down', () => {
  it('does not slow API requests while deliveries time out and are retried', async () => {
    receiver = await startWebhookReceiver();
    receiver.mode = 'hang';
    t = await startTestControlPlane(
      alertsConfig(receiver.url, { timeoutMs: 2_000, retries: 5, concurrency: 2, queueSize: 50 }),
    );
    const token = await createToken(t, { uses: 40 });
    expect(token).toBeTruthy();
    const latency = async (n: number) => {
      const times: number[] = [];
      for (let i = 0; i < n; i++) {
        const start = performance.now();
        const res = await t!.api('/devices', { admin: true });
        expect(res.status).toBe(200);
        times.push(performance.now() - start);
      }
      times.sort((a, b) => a - b);
      return times[Math.floor(times.length / 2)];
    };
    const before = await latency(20);

    // 30 devices that never connect: 30 offline alerts to deliver to a receiver that hangs.
    for (let i = 0; i < 30; i++) await enroll(t, `cam-down-${String(i).padStart(2, '0')}`);
    await t.logs.waitFor(
      (e) => e.msg === 'alert firing' && (e.subject as { id: string }).id === 'cam-down-29',
    );
    const during = await latency(20);
    const metrics = await (await fetch(`${t.cp.httpUrl}/metrics`)).text();
    const queued = Number(/^edgeloop_alert_delivery_queue_items (\d+)/m.exec(metrics)?.[1]);

    // Deliveries were still pending (hanging or queued) while the requests above were answered.
    expect(queued).toBeGreaterThan(0);
    expect(receiver.received).toHaveLength(0);
    expect(during).toBeLessThan(Math.max(before * 3, 50));

    // Back up: timed-out deliveries are retried, and every alert arrives exactly once.
    receiver.mode = 'ok';
    await waitUntil(() => receiver.received.length >= 30, 'all 30 deliveries', 20_000);
    await quietPeriods();
    const ids = receiver.received.map((r) => (r.json.alert as { subject: { id: string } }).subject.id);
    expect(new Set(ids).size).toBe(30);
    expect(ids).toHaveLength(30);
  });
});

describe('alert deliveries across a control-plane restart', () => {
  it('receiver down, control plane restarted, receiver up: the alert arrives exactly once, signed', async () => {
    // A receiver that is not listening at all (connection refused), at an address kept for later.
    receiver = await startWebhookReceiver();
    const { port } = new URL(receiver.url);
    await receiver.close();
    t = await startTestControlPlane({
      ...alertsConfig(receiver.url, { retries: 20, backoffMs: 50, maxBackoffMs: 300 }),
      pipeline: { retries: 0 },
    });
    const res = await t.api('/pipeline/runs', { ...jsonBody({ protocol: 1 }), admin: true });
    expect(res.status).toBe(202);
    const { id: runId } = (await res.json()) as { id: string };
    await t.logs.waitFor((e) => e.msg === 'alert delivery failed; will retry');

    await t.restart();
    receiver = await startWebhookReceiver(Number(port));
    const fired = await receiver.waitFor(is('pipeline-failed', 'firing'), MARGIN_MS * 2);
    const n = notificationOf(fired);
    expect(n.alert.subject).toEqual({ kind: 'pipeline-run', id: runId });
    await quietPeriods();
    expect(receiver.received.filter(is('pipeline-failed', 'firing'))).toHaveLength(1);
    // Nothing is left to send.
    const metrics = await (await fetch(`${t.cp.httpUrl}/metrics`)).text();
    expect(Number(/^edgeloop_alert_delivery_queue_items (\d+)/m.exec(metrics)?.[1])).toBe(0);
  });
});
