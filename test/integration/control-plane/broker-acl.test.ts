import { DesiredStateSchema, deviceClientId, type ReportedState, topics } from '@edgeloop/shared';
import type { MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createSharpImageCodec } from '../../../agent/src/image/sharp-image.ts';
import {
  closed,
  connectDevice,
  type Device,
  enroll,
  nextMessage,
  startTestControlPlane,
  type TestControlPlane,
} from './helpers.ts';

/** MQTT round trips take milliseconds; the margin is for a loaded CI machine. */
const WAIT = { timeout: 5_000, interval: 20 };

let t: TestControlPlane;
let a: Device;
let b: Device;
const clients: MqttClient[] = [];

async function device(d: Device, options = {}): Promise<MqttClient> {
  const client = await connectDevice(t.cp.mqttUrl, d, options);
  clients.push(client);
  return client;
}

function reportedState(overrides: Partial<ReportedState> = {}): ReportedState {
  return {
    protocol: 1,
    modelVersion: null,
    status: 'idle',
    agentVersion: '0.1.0',
    framesProcessed: 0,
    samplesQueued: 0,
    reportedAt: new Date().toISOString(),
    ...overrides,
  };
}

function event(message: string) {
  return JSON.stringify({ protocol: 1, type: 'agent-error', message, at: new Date().toISOString() });
}

beforeEach(async () => {
  t = await startTestControlPlane();
  a = await enroll(t, 'cam-a');
  b = await enroll(t, 'cam-b');
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await t.stop();
});

describe('broker authentication', () => {
  it('lets a device connect with its id and secret', async () => {
    const client = await device(a);
    expect(client.connected).toBe(true);
  });

  it('refuses a wrong secret, an unknown device and a borrowed client id', async () => {
    await expect(connectDevice(t.cp.mqttUrl, { ...a, secret: 'wrong-secret' })).rejects.toThrow(
      /bad username or password/i,
    );
    await expect(connectDevice(t.cp.mqttUrl, { deviceId: 'cam-nobody', secret: a.secret })).rejects.toThrow(
      /bad username or password/i,
    );
    await expect(connectDevice(t.cp.mqttUrl, a, { clientId: deviceClientId('cam-b') })).rejects.toThrow(
      /identifier rejected/i,
    );
    await expect(
      connectDevice(t.cp.mqttUrl, a, { username: undefined, password: undefined }),
    ).rejects.toThrow(/bad username or password/i);
  });

  it("refuses a will aimed at another device's topic", async () => {
    const will = { topic: topics.status('cam-b'), payload: Buffer.from('{}'), qos: 1 as const, retain: true };
    await expect(connectDevice(t.cp.mqttUrl, a, { will })).rejects.toThrow(/not authorized/i);
  });
});

describe('broker topic ACL', () => {
  it("drops A's publish to B's topics: no subscriber ever sees it", async () => {
    const clientB = await device(b);
    // B gets its retained desired state (published at enrollment) on subscribe.
    const received: string[] = [];
    clientB.on('message', (topic, payload) => received.push(`${topic} ${payload}`));
    const initial = nextMessage(clientB, topics.desired('cam-b'));
    await clientB.subscribeAsync(topics.desired('cam-b'), { qos: 1 });
    expect(DesiredStateSchema.parse(JSON.parse((await initial).payload.toString())).modelVersion).toBeNull();

    // MQTT 3.1.1 has no negative PUBACK: the broker refuses by closing A's connection.
    const clientA = await device(a);
    const aClosed = closed(clientA);
    clientA.publish(topics.events('cam-b'), event('forged by A'), { qos: 1 });
    await aClosed;
    const clientA2 = await device(a);
    const a2Closed = closed(clientA2);
    const forgedDesired = {
      protocol: 1,
      modelVersion: 99,
      manifestPath: '/evil',
      updatedAt: new Date().toISOString(),
    };
    clientA2.publish(topics.desired('cam-b'), JSON.stringify(forgedDesired), { qos: 1, retain: true });
    await a2Closed;

    // B's own event, sent afterwards, reaches the control plane; the forged one never did.
    await clientB.publishAsync(topics.events('cam-b'), event('from B'), { qos: 1 });
    await vi.waitFor(async () => expect(await t.cp.store.events.list('cam-b')).toHaveLength(1), WAIT);
    expect((await t.cp.store.events.list('cam-b')).map((e) => e.message)).toEqual(['from B']);
    expect(await t.cp.store.events.list('cam-a')).toEqual([]);
    expect(received).toHaveLength(1);

    // Nor was the forged desired state retained for B to find later.
    clientB.end(true);
    const clientB2 = await device(b);
    const retained = nextMessage(clientB2, topics.desired('cam-b'));
    await clientB2.subscribeAsync(topics.desired('cam-b'), { qos: 1 });
    expect(JSON.parse((await retained).payload.toString()).modelVersion).toBeNull();
  });

  it("keeps a device's live frame its own: A cannot publish B's, B's own is served over HTTP", async () => {
    const jpeg = await createSharpImageCodec().encodeJpeg({
      width: 8,
      height: 6,
      data: new Uint8Array(8 * 6 * 3),
    });
    const frame = (frameId: string) =>
      JSON.stringify({
        protocol: 1,
        frameId,
        capturedAt: new Date().toISOString(),
        modelVersion: null,
        topK: [{ label: 'red', confidence: 0.9 }],
        width: 8,
        height: 6,
        jpeg: jpeg.toString('base64'),
      });
    const clientA = await device(a);
    const aClosed = closed(clientA);
    clientA.publish(topics.frame('cam-b'), frame('forged by A'), { qos: 0 });
    await aClosed;

    const clientB = await device(b);
    await clientB.publishAsync(topics.frame('cam-b'), '{"protocol":1,"frameId":"bad"}', { qos: 0 });
    await clientB.publishAsync(topics.frame('cam-b'), frame('from B'), { qos: 0 });
    const get = (path: string) => t.api(path, { admin: true });
    await vi.waitFor(async () => expect((await get('/devices/cam-b/frame')).status).toBe(200), WAIT);
    expect(await (await get('/devices/cam-b/frame')).json()).toMatchObject({
      deviceId: 'cam-b',
      frameId: 'from B',
      topK: [{ label: 'red', confidence: 0.9 }],
      width: 8,
      height: 6,
      bytes: jpeg.length,
    });
    const image = await get('/devices/cam-b/frame.jpg');
    expect(image.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await image.arrayBuffer()).equals(jpeg)).toBe(true);
    expect((await get('/devices/cam-a/frame')).status).toBe(404);
    expect((await t.api('/devices/cam-b/frame')).status).toBe(401);
  });

  it("refuses A's subscriptions to B's desired and config topics and to wildcards", async () => {
    const clientA = await device(a);
    const filters = [
      topics.desired('cam-b'),
      topics.config('cam-b'),
      'edgeloop/v1/devices/+/config',
      topics.allDevices('state'),
      'edgeloop/v1/devices/+/desired',
      'edgeloop/v1/#',
      '#',
      topics.state('cam-a'),
    ];
    // SUBACK 0x80 = failure for that filter (MQTT 3.1.1 §3.9.3); mqtt.js rejects carrying the SUBACK, and
    // the connection stays up.
    for (const filter of filters) {
      await expect(clientA.subscribeAsync(filter, { qos: 1 })).rejects.toMatchObject({
        packet: { granted: [128] },
      });
    }
    const own = await clientA.subscribeAsync([topics.desired('cam-a'), topics.config('cam-a')], { qos: 1 });
    expect(own.map((g) => g.qos)).toEqual([1, 1]);
    expect(clientA.connected).toBe(true);
  });

  it('records the state a device publishes on its own topic', async () => {
    const clientA = await device(a);
    const state = reportedState({ status: 'running', framesProcessed: 42, samplesQueued: 3, detail: 'ok' });
    await clientA.publishAsync(topics.state('cam-a'), JSON.stringify(state), { qos: 1, retain: true });
    await vi.waitFor(
      async () => expect((await t.cp.store.devices.get('cam-a'))?.status).toBe('running'),
      WAIT,
    );
    expect(await t.cp.store.devices.get('cam-a')).toMatchObject({
      framesProcessed: 42,
      samplesQueued: 3,
      detail: 'ok',
      agentVersion: '0.1.0',
    });
    expect((await t.cp.store.devices.get('cam-a'))?.lastSeenAt).not.toBeNull();
  });

  it('drops a malformed state payload, logs it with the device id and changes nothing', async () => {
    const clientA = await device(a);
    await clientA.publishAsync(topics.state('cam-a'), JSON.stringify(reportedState({ framesProcessed: 7 })), {
      qos: 1,
    });
    await vi.waitFor(
      async () => expect((await t.cp.store.devices.get('cam-a'))?.framesProcessed).toBe(7),
      WAIT,
    );
    const before = await t.cp.store.devices.get('cam-a');

    await clientA.publishAsync(
      topics.state('cam-a'),
      '{"protocol":1,"status":"exploded","framesProcessed":-1}',
      {
        qos: 1,
      },
    );
    await clientA.publishAsync(topics.state('cam-a'), 'not json at all', { qos: 1 });
    const dropped = await t.logs.waitFor(
      (e) => e.msg === 'dropped malformed payload' && /not JSON/.test(`${e.reason}`),
    );
    expect(dropped).toMatchObject({ deviceId: 'cam-a', kind: 'state', component: 'fleet' });
    expect(t.logs.entries.filter((e) => e.msg === 'dropped malformed payload')).toHaveLength(2);
    expect(await t.cp.store.devices.get('cam-a')).toEqual(before);
    // Still connected and still heard.
    await clientA.publishAsync(topics.state('cam-a'), JSON.stringify(reportedState({ framesProcessed: 8 })), {
      qos: 1,
    });
    await vi.waitFor(
      async () => expect((await t.cp.store.devices.get('cam-a'))?.framesProcessed).toBe(8),
      WAIT,
    );
  });

  it('tracks online status, including the will the broker publishes when a device vanishes', async () => {
    const offline = JSON.stringify({ protocol: 1, online: false, at: new Date().toISOString() });
    const clientA = await device(a, {
      will: { topic: topics.status('cam-a'), payload: Buffer.from(offline), qos: 1, retain: true },
    });
    const online = JSON.stringify({ protocol: 1, online: true, at: new Date().toISOString() });
    await clientA.publishAsync(topics.status('cam-a'), online, { qos: 1, retain: true });
    await vi.waitFor(async () => expect((await t.cp.store.devices.get('cam-a'))?.online).toBe(true), WAIT);
    // A dropped socket (no DISCONNECT) makes the broker publish the will (MQTT 3.1.1 §3.1.2.5).
    clientA.stream.destroy();
    await vi.waitFor(async () => expect((await t.cp.store.devices.get('cam-a'))?.online).toBe(false), WAIT);
  });
});
