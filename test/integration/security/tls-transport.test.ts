/**
 * TLS end to end: a real control plane with its own CA (HTTPS and MQTT over TLS on aedes), real
 * agents in this process that pin that CA by fingerprint, a password device and a device whose
 * key never left it (mTLS), revocation, and plaintext refused.
 */
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Agent, startAgent } from '@edgeloop/agent';
import { startControlPlane } from '@edgeloop/control-plane';
import {
  AgentConfigSchema,
  type ApiClient,
  apiRoutes,
  ControlPlaneConfigSchema,
  createLogger,
  EnrollResponseSchema,
} from '@edgeloop/shared';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testManifest } from '../../helpers/manifest-fixture.ts';
import {
  basicAuth,
  startTestControlPlane,
  type TestControlPlane,
  tempDir,
} from '../control-plane/helpers.ts';
import { fleetModel, waitUntil } from '../rollouts/fleet.ts';
import { adminClient, agentIdentity, connectDeviceTls, fetchTrusting } from './tls-helpers.ts';

const silent = createLogger({ level: 'silent' });

let t: TestControlPlane;
let ca: string;
let api: ApiClient;
const agents: Agent[] = [];

function agentConfig(id: string, token: string, extra: Record<string, unknown> = {}) {
  return AgentConfigSchema.parse({
    controlPlaneUrl: t.cp.httpUrl,
    dataDir: join(t.dataDir, 'agents', id),
    enrollmentToken: token,
    deviceId: id,
    // Only the fingerprint: the agent fetches the CA from the server's chain and keeps it.
    tls: { caFingerprint: t.cp.serverCa?.fingerprint },
    trustedKeys: [t.cp.signingPublicKey],
    camera: { type: 'synthetic', width: 48, height: 48, fps: 8, seed: 1 },
    reportIntervalMs: 300,
    logLevel: 'silent',
    ...extra,
  });
}

async function start(id: string, extra: Record<string, unknown> = {}): Promise<Agent> {
  const { token } = await api.createEnrollmentToken({ uses: 1 });
  const agent = await startAgent(agentConfig(id, token, extra), {
    logger: silent,
    retry: { baseMs: 100, maxMs: 500 },
    httpTimeoutMs: 5_000,
  });
  agents.push(agent);
  return agent;
}

async function assign(deviceId: string, modelVersion: number) {
  await api.call(apiRoutes.assignModel, {
    body: { protocol: 1, modelVersion, target: { deviceIds: [deviceId] } },
  });
}

beforeAll(async () => {
  t = await startTestControlPlane({
    tls: { selfSigned: { names: ['localhost'], addresses: ['127.0.0.1'] }, mqttPort: 0 },
    logLevel: 'info',
  });
  ca = t.cp.serverCa?.pem ?? '';
  api = adminClient(t.cp.httpUrl, t.cp.adminToken, ca);
  const model = fleetModel('confident', 1);
  await api.publishModel(
    testManifest(model, { modelVersion: 1, name: 'tls-v1' }),
    new Map([['model.onnx', model]]),
  );
}, 60_000);

afterAll(async () => {
  for (const agent of agents) await agent.close();
  await t.stop();
});

describe('TLS with the control plane’s own CA', () => {
  it('serves HTTPS and MQTTS only, with a CA whose fingerprint it hands out', () => {
    expect(t.cp.httpUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(t.cp.mqttUrl).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    expect(t.cp.serverCa?.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a password agent pins the CA, enrolls over HTTPS, connects over MQTTS and installs a signed model', async () => {
    const agent = await start('tls-pw');
    await waitUntil(
      async () => (await t.cp.store.devices.get('tls-pw'))?.online,
      'the agent online over MQTTS',
    );
    await assign('tls-pw', 1);
    await waitUntil(() => agent.currentModelVersion() === 1, 'version 1 installed over HTTPS');
    await waitUntil(
      async () => (await t.cp.store.devices.get('tls-pw'))?.reportedVersion === 1,
      'version 1 reported',
    );
  }, 60_000);

  it('an mTLS agent keeps its key, gets no secret, and is accepted by certificate on MQTT and HTTP', async () => {
    const agent = await start('tls-cert', {
      tls: { caFingerprint: t.cp.serverCa?.fingerprint, clientCertificate: true },
    });
    const dataDir = join(t.dataDir, 'agents', 'tls-cert');
    const credentials = EnrollResponseSchema.parse(
      JSON.parse(
        await import('node:fs').then((fs) => fs.readFileSync(join(dataDir, 'credentials.json'), 'utf8')),
      ),
    );
    expect(credentials.secret).toBe('');
    expect(credentials.certificate).toContain('BEGIN CERTIFICATE');
    await waitUntil(
      async () => (await t.cp.store.devices.get('tls-cert'))?.online,
      'the certificate agent online',
    );
    await assign('tls-cert', 1);
    await waitUntil(() => agent.currentModelVersion() === 1, 'version 1 installed with mTLS');

    // The certificate alone opens the device's own routes; without it the same call is refused.
    const withCert = fetchTrusting(ca, agentIdentity(dataDir));
    const desired = await withCert(`${t.cp.httpUrl}/api/v1/device/desired`);
    expect(desired.status).toBe(200);
    expect(((await desired.json()) as { deviceId: string }).deviceId).toBe('tls-cert');
    expect((await fetchTrusting(ca)(`${t.cp.httpUrl}/api/v1/device/desired`)).status).toBe(401);
    // A device cannot log in as it with no certificate and no password.
    await expect(connectDeviceTls(t.cp.mqttUrl, { deviceId: 'tls-cert' }, { ca })).rejects.toThrow();
  }, 60_000);

  it('revokes a device: its live MQTT connection closes and its secret and certificate stop working', async () => {
    // A password device connected by hand, and the certificate agent from the test above.
    const { token } = await api.createEnrollmentToken({ uses: 1 });
    const res = await fetchTrusting(ca)(`${t.cp.httpUrl}/api/v1/devices/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ protocol: 1, token, deviceId: 'tls-revoked' }),
    });
    const device = EnrollResponseSchema.parse(await res.json());
    const client = await connectDeviceTls(t.cp.mqttUrl, device, { ca });
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));

    const revoked = await api.call(apiRoutes.revokeDevice, { params: { id: 'tls-revoked' } });
    expect(revoked.connectionsClosed).toBe(1);
    await closed;
    await expect(connectDeviceTls(t.cp.mqttUrl, device, { ca })).rejects.toThrow(/Bad username or password/);
    const basic = await fetchTrusting(ca)(`${t.cp.httpUrl}/api/v1/device/desired`, {
      headers: { authorization: basicAuth(device.deviceId, device.secret) },
    });
    expect(basic.status).toBe(401);

    const dataDir = join(t.dataDir, 'agents', 'tls-cert');
    const identity = agentIdentity(dataDir);
    await api.call(apiRoutes.revokeDevice, { params: { id: 'tls-cert' } });
    await waitUntil(
      async () => (await t.cp.store.devices.get('tls-cert'))?.online === false,
      'the revoked agent offline',
    );
    expect((await fetchTrusting(ca, identity)(`${t.cp.httpUrl}/api/v1/device/desired`)).status).toBe(401);
    await expect(
      connectDeviceTls(t.cp.mqttUrl, { deviceId: 'tls-cert' }, { ca, ...identity }),
    ).rejects.toThrow(/Not authorized/);
  }, 60_000);

  it('rotates the manifest signing key: devices learn the new key from desired states, then forget the old', async () => {
    const agent = agents[0]; // tls-pw, running version 1
    const trustFile = join(t.dataDir, 'agents', 'tls-pw', 'desired-trust.json');
    const trustedIds = () =>
      (JSON.parse(readFileSync(trustFile, 'utf8')) as { trustedKeys: { keyId: string }[] }).trustedKeys.map(
        (k) => k.keyId,
      );
    const old = t.cp.signingPublicKey.keyId;
    const rotated = await api.call(apiRoutes.rotateSigningKey);
    const fresh = rotated.keys.find((k) => k.state === 'active')?.keyId ?? '';
    expect(rotated.keys).toEqual([
      expect.objectContaining({ keyId: fresh, state: 'active' }),
      expect.objectContaining({ keyId: old, state: 'trusted' }),
    ]);
    await waitUntil(() => trustedIds().includes(fresh), 'the agent trusting the new key');

    // Version 2 is signed by the new key only; the agent installs it because it learned the key.
    const model = fleetModel('confident', 2);
    await api.publishModel(
      testManifest(model, { modelVersion: 2, name: 'tls-v2' }),
      new Map([['model.onnx', model]]),
    );
    expect((await api.getManifest(2)).signature?.keyId).toBe(fresh);
    await assign('tls-pw', 2);
    await waitUntil(() => agent.currentModelVersion() === 2, 'version 2 (new key) installed');

    await api.call(apiRoutes.retireSigningKey, { params: { keyId: old } });
    await waitUntil(() => trustedIds().join() === fresh, 'the agent no longer trusting the old key');
    const v1 = await api.getManifest(1);
    expect(v1.signature?.keyId).toBe(fresh);
  }, 60_000);

  it('rotates a password device’s secret: the old one stops working, the agent goes on with the new', async () => {
    const first = await start('tls-rot', { secretRotationDays: 0 });
    const file = join(t.dataDir, 'agents', 'tls-rot', 'credentials.json');
    const before = JSON.parse(readFileSync(file, 'utf8')) as { secret: string };
    await first.close();
    agents.splice(agents.indexOf(first), 1);

    const { token } = await api.createEnrollmentToken({ uses: 1 });
    const again = await startAgent(agentConfig('tls-rot', token, { secretRotationDays: 1e-9 }), {
      logger: silent,
      retry: { baseMs: 100, maxMs: 500 },
      httpTimeoutMs: 5_000,
    });
    agents.push(again);
    const after = JSON.parse(readFileSync(file, 'utf8')) as { secret: string; rotatedAt?: string };
    expect(after.secret).not.toBe(before.secret);
    expect(after.rotatedAt).toBeDefined();
    const desiredWith = (secret: string) =>
      fetchTrusting(ca)(`${t.cp.httpUrl}/api/v1/device/desired`, {
        headers: { authorization: basicAuth('tls-rot', secret) },
      });
    expect((await desiredWith(before.secret)).status).toBe(401);
    expect((await desiredWith(after.secret)).status).toBe(200);
    await waitUntil(
      async () => (await t.cp.store.devices.get('tls-rot'))?.online,
      'online with the new secret',
    );
  }, 60_000);

  it('refuses plaintext clients on both listeners', async () => {
    const plainMqtt = t.cp.mqttUrl.replace('mqtts:', 'mqtt:');
    const client = mqtt.connect(plainMqtt, {
      reconnectPeriod: 0,
      connectTimeout: 3_000,
      username: 'x',
      password: 'y',
    });
    const outcome = await new Promise<string>((resolve) => {
      client.once('connect', () => resolve('connected'));
      client.once('close', () => resolve('closed'));
      client.once('error', () => resolve('error'));
    });
    client.end(true);
    expect(outcome).not.toBe('connected');
    await expect(fetch(`${t.cp.httpUrl.replace('https:', 'http:')}/api/v1/health`)).rejects.toThrow();
    // And a client that does not trust the CA does not get through either (no silent downgrade).
    await expect(fetch(`${t.cp.httpUrl}/api/v1/health`)).rejects.toThrow();
  });

  it('sets the session cookie Secure under TLS', async () => {
    const res = await fetchTrusting(ca)(`${t.cp.httpUrl}/ui/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'admin', password: t.cp.adminToken }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('set-cookie')).toMatch(/;\s*Secure/i);
  });
});

describe('secure by default', () => {
  it('refuses plaintext on a non-loopback address unless insecure is set', async () => {
    const dir = tempDir();
    try {
      const config = (insecure: boolean) =>
        ControlPlaneConfigSchema.parse({
          dataDir: dir.path,
          http: { host: '0.0.0.0', port: 0 },
          mqtt: { host: '127.0.0.1', port: 0 },
          insecure,
          logLevel: 'silent',
        });
      await expect(startControlPlane(config(false))).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        message: expect.stringContaining('insecure'),
      });
      const cp = await startControlPlane(config(true));
      await cp.close();
    } finally {
      dir.remove();
    }
  });

  it('the agent refuses http:// to another host unless its config says insecure', async () => {
    const dir = tempDir();
    try {
      const config = AgentConfigSchema.parse({
        controlPlaneUrl: 'http://192.0.2.10:8080',
        dataDir: dir.path,
        enrollmentToken: 'x'.repeat(20),
        trustedKeys: [t.cp.signingPublicKey],
        logLevel: 'silent',
      });
      await expect(startAgent(config, { logger: silent })).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        message: expect.stringContaining('plaintext'),
      });
    } finally {
      await rm(dir.path, { recursive: true, force: true });
    }
  });
});
