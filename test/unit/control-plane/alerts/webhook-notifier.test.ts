/**
 * The webhook notifier against a real local HTTP receiver: retries with exponential backoff until
 * the receiver recovers, gives up on a 4xx, drops the oldest when its queue is full, and renders
 * Slack and Teams payloads.
 */
import { type Alert, createLogger } from '@edgeloop/shared';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createWebhookNotifier,
  type DeliveryOutcome,
} from '../../../../control-plane/src/alerts/webhook-notifier.ts';
import { notification, renderBody } from '../../../../control-plane/src/alerts/webhook-payload.ts';
import {
  startWebhookReceiver,
  verifySignature,
  type WebhookReceiver,
} from '../../../helpers/webhook-receiver.ts';

const logger = createLogger({ level: 'silent' });
const SECRET = 'unit-test-secret-0123';
let receiver: WebhookReceiver;

afterEach(async () => {
  await receiver?.close();
});

function alert(id: string, overrides: Partial<Alert> = {}): Alert {
  return {
    id,
    rule: 'device-offline',
    severity: 'critical',
    status: 'firing',
    subject: { kind: 'device', id: 'cam-1' },
    summary: 'device cam-1 offline',
    details: {},
    oneShot: false,
    firedAt: new Date().toISOString(),
    resolvedAt: null,
    ...overrides,
  };
}

const delivery = {
  timeoutMs: 1_000,
  retries: 3,
  backoffMs: 40,
  maxBackoffMs: 1_000,
  queueSize: 10,
  concurrency: 2,
};

describe('webhook notifier', () => {
  it('retries a failing receiver with doubling waits, then delivers once, signed', async () => {
    receiver = await startWebhookReceiver();
    receiver.mode = 503;
    const outcomes: DeliveryOutcome[] = [];
    const notifier = createWebhookNotifier({
      webhooks: [{ name: 'ops', url: receiver.url, format: 'json', secret: SECRET }],
      delivery,
      logger,
      onOutcome: (o) => outcomes.push(o),
    });
    const started = performance.now();
    notifier.enqueue(notification(alert('a1'), new Date()));
    // Two failures (waits 40 + 80 ms), then the receiver is back.
    while (outcomes.filter((o) => o === 'retried').length < 2) await new Promise((r) => setTimeout(r, 10));
    receiver.mode = 'ok';
    const got = await receiver.waitFor(() => true);
    await notifier.idle();
    expect(got.at - started).toBeGreaterThanOrEqual(120);
    expect(outcomes).toEqual(['retried', 'retried', 'delivered']);
    expect(receiver.received).toHaveLength(1);
    expect(verifySignature(SECRET, got.headers['x-edgeloop-signature'] as string, got.body)).toBe(true);
    await notifier.close();
  });

  it('does not retry a 4xx answer', async () => {
    receiver = await startWebhookReceiver();
    receiver.mode = 400;
    const outcomes: DeliveryOutcome[] = [];
    const notifier = createWebhookNotifier({
      webhooks: [{ name: 'ops', url: receiver.url, format: 'json' }],
      delivery,
      logger,
      onOutcome: (o) => outcomes.push(o),
    });
    notifier.enqueue(notification(alert('a2'), new Date()));
    await notifier.idle();
    expect(outcomes).toEqual(['failed']);
    await notifier.close();
  });

  it('keeps its queue bounded: the oldest waiting delivery is dropped', async () => {
    receiver = await startWebhookReceiver();
    receiver.mode = 'hang';
    const outcomes: DeliveryOutcome[] = [];
    const notifier = createWebhookNotifier({
      webhooks: [{ name: 'ops', url: receiver.url, format: 'json' }],
      delivery: { ...delivery, queueSize: 3, concurrency: 1, retries: 0 },
      logger,
      onOutcome: (o) => outcomes.push(o),
    });
    const start = performance.now();
    for (let i = 0; i < 10; i++) notifier.enqueue(notification(alert(`q${i}`), new Date()));
    // enqueue() never waits for the network.
    expect(performance.now() - start).toBeLessThan(50);
    expect(notifier.depth()).toBe(4); // one in flight, three waiting
    expect(outcomes.filter((o) => o === 'dropped')).toHaveLength(6);
    await notifier.close();
  });

  it('sends only the rules a webhook asked for', async () => {
    receiver = await startWebhookReceiver();
    const notifier = createWebhookNotifier({
      webhooks: [{ name: 'ops', url: receiver.url, format: 'json', rules: ['rollout-aborted'] }],
      delivery,
      logger,
    });
    notifier.enqueue(notification(alert('r1'), new Date()));
    notifier.enqueue(notification(alert('r2', { rule: 'rollout-aborted', oneShot: true }), new Date()));
    await notifier.idle();
    expect(receiver.received.map((r) => (r.json.alert as Alert).id)).toEqual(['r2']);
    await notifier.close();
  });

  it('renders Slack and Teams messages', () => {
    const n = notification(
      alert('s1', { status: 'resolved', resolvedAt: new Date().toISOString() }),
      new Date(),
    );
    expect(JSON.parse(renderBody('slack', n))).toEqual({
      text: expect.stringMatching(/^✅ \[RESOLVED\] device cam-1 offline/),
    });
    const card = JSON.parse(renderBody('teams', n));
    expect(card).toMatchObject({ '@type': 'MessageCard', summary: 'device cam-1 offline' });
    expect(card.title).toContain('[RESOLVED]');
  });
});
