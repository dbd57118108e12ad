/**
 * Per-device quotas on a real control plane: a device sending events faster than its quota has
 * the excess dropped and counted while a quiet device loses nothing; sample uploads over the
 * hourly count or the daily bytes are refused with 429 and Retry-After; Home Assistant topics
 * past the retained quota are passed on but not retained.
 */
import { join } from 'node:path';
import { createLogger, homeAssistantConfigTopic, topics } from '@edgeloop/shared';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDeviceAuthenticator } from '../../../../control-plane/src/auth/device-authenticator.ts';
import { hashSecret } from '../../../../control-plane/src/auth/secrets.ts';
import { startBroker } from '../../../../control-plane/src/mqtt/broker.ts';
import { openSqliteStore } from '../../../../control-plane/src/store/sqlite-store.ts';
import { connectDevice, enroll, startTestControlPlane, type TestControlPlane, tempDir } from '../helpers.ts';
import { sampleMetadata, testImage, uploadSample } from '../sample-helpers.ts';

let t: TestControlPlane;
const running: TestControlPlane[] = [];
const clients: MqttClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await Promise.all(running.splice(0).map((cp) => cp.stop()));
});

async function start(overrides: Parameters<typeof startTestControlPlane>[0]): Promise<TestControlPlane> {
  const cp = await startTestControlPlane(overrides);
  running.push(cp);
  return cp;
}

async function metric(pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${t.cp.httpUrl}/metrics`)).text();
  return Number(pattern.exec(text)?.[1] ?? 0);
}

function event(message: string) {
  return JSON.stringify({ protocol: 1, type: 'agent-error', message, at: new Date().toISOString() });
}

describe('per-device quotas', () => {
  it('drops and counts messages over a device’s rate; a quiet device loses none', async () => {
    t = await start({ quotas: { messagesPerSecond: 1, messagesBurst: 5 } });
    const noisy = await connectDevice(t.cp.mqttUrl, await enroll(t, 'noisy'));
    const quiet = await connectDevice(t.cp.mqttUrl, await enroll(t, 'quiet'));
    clients.push(noisy, quiet);
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        noisy.publishAsync(topics.events('noisy'), event(`n${i}`), { qos: 1 }),
      ),
    );
    for (let i = 0; i < 4; i++) await quiet.publishAsync(topics.events('quiet'), event(`q${i}`), { qos: 1 });
    await vi.waitFor(
      async () => {
        expect(
          await metric(/edgeloop_device_quota_exceeded_total\{kind="events"\} (\d+)/),
        ).toBeGreaterThanOrEqual(50);
        expect(await t.cp.store.events.list('quiet', 100)).toHaveLength(4);
      },
      { timeout: 10_000, interval: 50 },
    );
    const kept = (await t.cp.store.events.list('noisy', 100)).length;
    expect(kept).toBeGreaterThanOrEqual(5);
    expect(kept).toBeLessThanOrEqual(10);
    // The quota dropped what it counted, nothing else.
    expect(kept + (await metric(/edgeloop_device_quota_exceeded_total\{kind="events"\} (\d+)/))).toBe(60);
  });

  it('refuses sample uploads over the hourly count with 429 and Retry-After', async () => {
    t = await start({ quotas: { samplesPerHour: 2 } });
    const cam = await enroll(t, 'cam-1');
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const meta = sampleMetadata(`s${i}`, [{ label: 'a', confidence: 0.4 }]);
      statuses.push((await uploadSample(t, cam, meta, await testImage(i))).status);
    }
    expect(statuses).toEqual([201, 201, 429]);
    expect(
      await metric(/edgeloop_device_quota_exceeded_total\{kind="samples"\} (\d+)/),
    ).toBeGreaterThanOrEqual(1);
  });

  it('refuses sample uploads over the daily bytes', async () => {
    const first = await testImage(1);
    t = await start({ quotas: { sampleBytesPerDay: first.byteLength + 10 } });
    const cam = await enroll(t, 'cam-1');
    const one = await uploadSample(t, cam, sampleMetadata('b1', [{ label: 'a', confidence: 0.4 }]), first);
    expect(one.status).toBe(201);
    const form = new FormData();
    form.set('metadata', JSON.stringify(sampleMetadata('b2', [{ label: 'a', confidence: 0.4 }])));
    form.set('image', new Blob([await testImage(2)]), 'frame.png');
    const two = await t.api('/samples', { method: 'POST', body: form, device: cam });
    expect(two.status).toBe(429);
    expect(Number(two.headers.get('retry-after'))).toBeGreaterThan(60);
  });

  it('retains at most the quota of Home Assistant topics per device', async () => {
    const dir = tempDir();
    const store = await openSqliteStore(join(dir.path, 'db.sqlite'), createLogger({ level: 'silent' }));
    await store.devices.createEnrollmentToken({
      tokenHash: 'h',
      group: 'default',
      usesLeft: 1,
      expiresAt: '2999-01-01T00:00:00Z',
    });
    await store.devices.enroll(
      'h',
      { deviceId: 'cam-1', name: null, hardware: null, secretHash: await hashSecret('s3cret-value') },
      new Date(),
    );
    const refusals: string[] = [];
    const broker = await startBroker({
      host: '127.0.0.1',
      port: 0,
      devices: createDeviceAuthenticator(store),
      logger: createLogger({ level: 'silent' }),
      retainedTopicsPerDevice: 2,
      onRefused: (reason) => refusals.push(reason),
    });
    try {
      const cam = await connectDevice(broker.url, { deviceId: 'cam-1', secret: 's3cret-value' });
      const ids = ['class', 'confidence', 'extra_one'];
      for (const id of ids) {
        await cam.publishAsync(homeAssistantConfigTopic('cam-1', id), `{"id":"${id}"}`, {
          qos: 1,
          retain: true,
        });
      }
      // Re-publishing a topic it already holds is no new topic.
      await cam.publishAsync(homeAssistantConfigTopic('cam-1', 'class'), '{"id":"class2"}', {
        qos: 1,
        retain: true,
      });
      await cam.endAsync();
      expect(refusals).toEqual(['retained-quota']);

      // Someone subscribing later sees the retained copies of the first two topics only.
      const service = await mqtt.connectAsync(broker.url, { ...broker.service, reconnectPeriod: 0 });
      const seen: string[] = [];
      service.on('message', (_topic, payload) => seen.push(payload.toString()));
      for (const id of ids) await service.subscribeAsync(homeAssistantConfigTopic('cam-1', id), { qos: 1 });
      // Delivery on one connection is in order: once this arrives, every retained copy has.
      await service.subscribeAsync('probe/done', { qos: 1 });
      const done = new Promise((resolve) =>
        service.on('message', (topic) => topic === 'probe/done' && resolve(null)),
      );
      await service.publishAsync('probe/done', 'x', { qos: 1 });
      await done;
      await service.endAsync();
      expect(seen.filter((m) => m !== 'x').sort()).toEqual(['{"id":"class2"}', '{"id":"confidence"}']);
    } finally {
      await broker.close();
      await store.close();
      dir.remove();
    }
  });
});
