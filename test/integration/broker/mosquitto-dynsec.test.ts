/**
 * The managed external broker: a real Mosquitto 2 with dynamic security, provisioned by the
 * control plane itself. Devices enroll over HTTP and connect with credentials nobody copied; the
 * broker, not the control plane, enforces that a device reaches only its own topics and client id.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type DesiredState,
  DesiredStateSchema,
  deviceClientId,
  silentLogger,
  topics,
} from '@edgeloop/shared';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MqttLink } from '../../../agent/src/comms/mqtt-link.ts';
import { type Mosquitto, startMosquitto } from '../../helpers/mosquitto.ts';
import {
  closed,
  connectDevice,
  createToken,
  type Device,
  enroll,
  jsonBody,
  LogCapture,
  nextMessage,
  startTestControlPlane,
  type TestControlPlane,
} from '../control-plane/helpers.ts';
import { fleetModel, startFleet, waitUntil } from '../rollouts/fleet.ts';

let broker: Mosquitto;
const clients: MqttClient[] = [];
const planes: TestControlPlane[] = [];

function managed(b: Mosquitto) {
  return {
    mqtt: {
      external: {
        url: b.url,
        username: b.service.username,
        password: b.service.password,
        identities: 'mosquitto-dynsec' as const,
      },
    },
  };
}

async function health(t: TestControlPlane) {
  return (await t.api('/health')).json() as Promise<{ ok: boolean; mqttConnected?: boolean }>;
}

/** On a loaded machine the control plane may still be connecting; enrollment waits for it. */
function linked(t: TestControlPlane, what = 'the control plane to reach mosquitto') {
  return waitUntil(async () => (await health(t)).mqttConnected, what);
}

async function controlPlane(
  overrides: Parameters<typeof startTestControlPlane>[0],
  options = { linked: true },
) {
  const t = await startTestControlPlane(overrides);
  planes.push(t);
  if (options.linked) await linked(t);
  return t;
}

async function device(d: Device, options: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const client = await connectDevice(broker.url, d, options);
  clients.push(client);
  return client;
}

/** What the broker retains on a topic, read by its admin (who may read everything). */
async function retained(topic: string): Promise<string | null> {
  const admin = await mqtt.connectAsync(broker.url, { ...broker.admin, reconnectPeriod: 0 });
  try {
    const message = nextMessage(admin, topic).then((m) => m.payload.toString('utf8'));
    await admin.subscribeAsync(topic, { qos: 1 });
    const none = new Promise<null>((resolve) => setTimeout(() => resolve(null), 500));
    return await Promise.race([message, none]);
  } finally {
    await admin.endAsync(true);
  }
}

beforeAll(async () => {
  broker = await startMosquitto();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  for (const t of planes.splice(0)) await t.stop();
});
afterAll(async () => {
  await broker?.remove();
});

describe('Mosquitto with dynamic security, managed by the control plane', () => {
  it('runs enrollment → connect with issued credentials → desired state → predictions', async () => {
    const fleet = await startFleet(0, managed(broker));
    try {
      await linked(fleet.t);
      const id = 'cam-00';
      await fleet.addAgent(id, 'default');
      // The agent connected with what enrollment gave it: the broker's own URL, no service password.
      const stored = JSON.parse(
        readFileSync(join(fleet.t.dataDir, 'agents', id, 'credentials.json'), 'utf8'),
      );
      expect(stored.mqttUrl).toBe(broker.url);
      await fleet.publish(1, fleetModel('confident', 1));
      await fleet.api.assign(1, { all: true });
      await waitUntil(async () => (await fleet.reported(id)).version === 1, 'the device to run version 1');
      await waitUntil(
        async () => ((await fleet.t.cp.store.devices.get(id))?.predictionsTotal ?? 0) > 0,
        'predictions to reach the control plane through mosquitto',
      );
    } finally {
      await fleet.close();
    }
  }, 90_000);

  it('keeps each device to its own topics and client id', async () => {
    const t = await controlPlane(managed(broker));
    const a = await enroll(t, 'cam-a');
    const b = await enroll(t, 'cam-b');
    const ownDesired = await waitUntil(() => retained(topics.desired('cam-b')), "cam-b's desired state");
    const clientA = await device(a);

    // Forged retained desired state and state for cam-b: accepted on the wire (MQTT 3.1.1 has no
    // negative PUBACK), dropped by the broker, so what is retained is still the control plane's.
    const forged: DesiredState = { ...DesiredStateSchema.parse(JSON.parse(ownDesired)), modelVersion: 99 };
    await clientA.publishAsync(topics.desired('cam-b'), JSON.stringify(forged), { qos: 1, retain: true });
    await clientA.publishAsync(topics.state('cam-b'), '{"forged":true}', { qos: 1, retain: true });
    expect(await retained(topics.desired('cam-b'))).toBe(ownDesired);
    expect(await retained(topics.state('cam-b'))).toBeNull();

    // Subscribing to another device's desired state is refused (SUBACK 0x80), its own is granted.
    const refused = await clientA
      .subscribeAsync(topics.desired('cam-b'), { qos: 1 })
      .catch(() => [{ qos: 128 }]);
    expect(refused[0].qos).toBe(128);
    const granted = await clientA.subscribeAsync(topics.desired('cam-a'), { qos: 1 });
    expect(granted[0].qos).toBe(1);

    // cam-a cannot take cam-b's client id (which would disconnect cam-b), nor log in as cam-b.
    const clientB = await device(b);
    await expect(connectDevice(broker.url, a, { clientId: deviceClientId('cam-b') })).rejects.toThrow(
      /refused/i,
    );
    await expect(connectDevice(broker.url, { deviceId: 'cam-b', secret: a.secret })).rejects.toThrow(
      /refused/i,
    );
    expect(clientB.connected).toBe(true);
  }, 60_000);

  it('refuses a device id that names a broker user edgeloop does not manage, and leaves that user alone', async () => {
    const t = await controlPlane(managed(broker));
    for (const taken of [broker.service.username, broker.admin.username]) {
      const token = await createToken(t);
      const res = await t.api('/devices/enroll', jsonBody({ protocol: 1, token, deviceId: taken }));
      expect(res.status).toBe(409);
    }
    // The service identity still logs in, and provisioning still works through it.
    const again = await mqtt.connectAsync(broker.url, { ...broker.service, reconnectPeriod: 0 });
    clients.push(again);
    expect((await device(await enroll(t, 'cam-after'))).connected).toBe(true);
  }, 60_000);

  it('reconciles on start: drops identities of unknown devices, names enrolled devices missing on the broker', async () => {
    const t = await controlPlane(managed(broker));
    const kept = await enroll(t, 'cam-kept');
    await enroll(t, 'cam-lost');
    // Made behind the store's back (as if its device were deleted while the control plane was down).
    await t.cp.brokerIdentities.provisionDevice('cam-stray', 'stray-secret-123456');
    // Lost on the broker (as if its dynamic-security file were restored from an old backup).
    await t.cp.brokerIdentities.removeDevice('cam-lost');
    await t.restart();
    const warning = await t.logs.waitFor((e) => /no identity on mosquitto/.test(e.msg ?? ''));
    expect(warning.missing).toEqual(['cam-lost']);
    await expect(
      connectDevice(broker.url, { deviceId: 'cam-stray', secret: 'stray-secret-123456' }),
    ).rejects.toThrow(/refused/i);
    expect((await device(kept)).connected).toBe(true);
  }, 60_000);

  it('disconnects a removed device and refuses it afterwards', async () => {
    const t = await controlPlane(managed(broker));
    const a = await enroll(t, 'cam-gone');
    const client = await device(a);
    const gone = closed(client);
    await t.cp.brokerIdentities.removeDevice('cam-gone');
    await gone;
    await expect(connectDevice(broker.url, a)).rejects.toThrow(/refused/i);
  }, 60_000);

  it('replaces the broker password on re-enrollment', async () => {
    const t = await controlPlane(managed(broker));
    const first = await enroll(t, 'cam-re');
    const token = await createToken(t, { reenroll: true });
    const res = await t.api('/devices/enroll', jsonBody({ protocol: 1, token, deviceId: 'cam-re' }));
    expect(res.status).toBe(201);
    const second = (await res.json()) as Device;
    await expect(connectDevice(broker.url, first)).rejects.toThrow(/refused/i);
    expect((await device(second)).connected).toBe(true);
  }, 60_000);

  it('lets an agent refused once connect as soon as its identity exists', async () => {
    const t = await controlPlane(managed(broker));
    const logs = new LogCapture();
    const link = new MqttLink({
      url: broker.url,
      deviceId: 'cam-late',
      secret: 'late-secret-123456',
      logger: logs.logger,
      reconnectPeriodMs: 50,
      reconnectMaxMs: 200,
    });
    try {
      // Refused while the broker has no such client; mqtt.js alone would never try again.
      const refusals = () => logs.entries.filter((e) => /refused by the broker/.test(e.msg ?? ''));
      await logs.waitFor((e) => /refused by the broker/.test(e.msg ?? ''));
      await waitUntil(() => logs.entries.filter((e) => e.msg === 'mqtt reconnecting').length >= 3, 'retries');
      expect(link.connected()).toBe(false);
      // Logged once per change of state, not once per attempt.
      expect(refusals()).toHaveLength(1);
      await t.cp.brokerIdentities.provisionDevice('cam-late', 'late-secret-123456');
      await waitUntil(() => link.connected(), 'the agent to reconnect with its now valid credentials');
    } finally {
      await link.close();
    }
    expect(logs.entries.some((e) => e.msg === 'mqtt connected')).toBe(true);
  }, 60_000);

  it('answers 502 when the broker does not confirm an identity in time, keeps serving, and takes the enrolment back', async () => {
    const quick = managed(broker);
    const t = await controlPlane({
      mqtt: { external: { ...quick.mqtt.external, commandTimeoutMs: 300 } },
    });
    const token = await createToken(t);
    // A broker too busy to answer (frozen): the command's answers time out while its publish
    // still waits for the broker's acknowledgement.
    process.kill(broker.pid()!, 'SIGSTOP');
    try {
      const res = await t.api('/devices/enroll', jsonBody({ protocol: 1, token, deviceId: 'cam-slow' }));
      expect(res.status).toBe(502);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UPSTREAM_FAILED');
      // The process is still there and serving.
      expect((await t.api('/health')).status).toBe(200);
    } finally {
      process.kill(broker.pid()!, 'SIGCONT');
    }
    await linked(t);

    // Frozen between the checks and the provisioning, after the token was spent: the enrolment
    // is taken back, so the single-use token works again and the device connects with it.
    const identities = t.cp.brokerIdentities;
    const provision = identities.provisionDevice;
    identities.provisionDevice = (id, secret) => {
      process.kill(broker.pid()!, 'SIGSTOP');
      return provision(id, secret);
    };
    const single = await createToken(t, { uses: 1 });
    try {
      const res = await t.api(
        '/devices/enroll',
        jsonBody({ protocol: 1, token: single, deviceId: 'cam-late2' }),
      );
      expect(res.status).toBe(502);
    } finally {
      identities.provisionDevice = provision;
      process.kill(broker.pid()!, 'SIGCONT');
    }
    await linked(t);
    const res = await t.api(
      '/devices/enroll',
      jsonBody({ protocol: 1, token: single, deviceId: 'cam-late2' }),
    );
    expect(res.status).toBe(201);
    expect((await device((await res.json()) as Device)).connected).toBe(true);
  }, 60_000);

  it('hands devices their own URL and credentials, never the service password', async () => {
    // The older form: service credentials inside externalUrl (no dynamic security, so no provisioning).
    const legacyUrl = `mqtt://${broker.service.username}:${broker.service.password}@127.0.0.1:${broker.port}`;
    const t = await controlPlane({ mqtt: { externalUrl: legacyUrl } });
    const token = await createToken(t);
    const res = await t.api('/devices/enroll', jsonBody({ protocol: 1, token, deviceId: 'cam-url' }));
    const text = await res.text();
    expect(res.status).toBe(201);
    expect(JSON.parse(text).mqttUrl).toBe(broker.url);
    expect(text).not.toContain(broker.service.password);
    expect(text).not.toContain(broker.service.username);
    expect(t.cp.mqttUrl).not.toContain(broker.service.password);

    const managedPlane = await controlPlane(managed(broker));
    const enrolled = await enroll(managedPlane, 'cam-url2');
    expect(JSON.stringify(enrolled)).not.toContain(broker.service.password);
    expect(enrolled.mqttUrl).toBe(broker.url);
  }, 60_000);
});

describe('a control plane started before its broker', () => {
  it('serves HTTP, reports the broker down, and connects when Mosquitto comes up', async () => {
    const late = await startMosquitto({ running: false });
    try {
      const t = await controlPlane(managed(late), { linked: false });
      expect(await health(t)).toMatchObject({ ok: true, mqttConnected: false });
      // Enrollment waits for the broker rather than spend a token on a device it cannot provision.
      const token = await createToken(t);
      const refused = await t.api('/devices/enroll', jsonBody({ protocol: 1, token, deviceId: 'cam-early' }));
      expect(refused.status).toBe(502);

      await late.start();
      await linked(t, 'the control plane to connect');
      const res = await t.api('/devices/enroll', jsonBody({ protocol: 1, token, deviceId: 'cam-early' }));
      expect(res.status).toBe(201);
      const d = (await res.json()) as Device;
      const client = await connectDevice(late.url, d);
      clients.push(client);
      const desired = nextMessage(client, topics.desired('cam-early'));
      await client.subscribeAsync(topics.desired('cam-early'), { qos: 1 });
      expect(
        DesiredStateSchema.parse(JSON.parse((await desired).payload.toString())).modelVersion,
      ).toBeNull();

      // A broker restart: the control plane and an agent both come back by themselves.
      const link = new MqttLink({
        url: late.url,
        ...d,
        logger: silentLogger(),
        reconnectPeriodMs: 50,
        reconnectMaxMs: 500,
      });
      try {
        await waitUntil(() => link.connected(), 'the agent to connect');
        await late.stop();
        await waitUntil(async () => !link.connected() && !(await health(t)).mqttConnected, 'both to notice');
        await late.start();
        await waitUntil(() => link.connected(), 'the agent to reconnect after the broker restart');
        await linked(t, 'the control plane to reconnect');
      } finally {
        await link.close();
      }
    } finally {
      await late.remove();
    }
  }, 60_000);
});
