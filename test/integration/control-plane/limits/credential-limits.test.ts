/**
 * Wrong credentials are rate-limited per source address and per identity before they cost a
 * hash: sign-in, enrollment and device Basic auth answer 429 with Retry-After, MQTT CONNECT is
 * refused with CONNACK 3; right credentials are not charged, and a device whose
 * credentials are cached keeps working through it all. Password hashing (scrypt: sign-in) runs in
 * a bounded queue that refuses at once when full.
 */
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { hashSecret } from '../../../../control-plane/src/auth/secrets.ts';
import {
  basicAuth,
  connectDevice,
  createToken,
  enroll,
  jsonBody,
  startTestControlPlane,
  type TestControlPlane,
} from '../helpers.ts';

let t: TestControlPlane;
afterEach(async () => {
  await t.stop();
});

const tight = { addressBurst: 5, addressPerMinute: 1, identityBurst: 100, identityPerMinute: 1 };

function signIn(name: string, password: string) {
  return fetch(`${t.cp.httpUrl}/ui/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, password }),
  });
}

/** The CONNACK return code a CONNECT gets (0 = accepted). */
function connackCode(url: string, username: string, password: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, {
      clientId: `dev-${username}`,
      username,
      password,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    });
    client.on('connect', () => {
      client.end(true);
      resolve(0);
    });
    client.on('error', (err) => {
      client.end(true);
      const code = (err as { code?: number }).code;
      if (typeof code === 'number') resolve(code);
      else reject(err);
    });
  });
}

describe('rate limits on credential checks', () => {
  it('answers 429 with Retry-After to an address that keeps signing in wrongly, and lets right ones through', async () => {
    t = await startTestControlPlane({
      rateLimits: tight,
      users: [{ name: 'olga', role: 'operator', passwordHash: await hashSecret('right') }],
    });
    // Right passwords are not charged: more of them than the burst all succeed.
    for (let i = 0; i < 7; i++) expect((await signIn('olga', 'right')).status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await signIn('olga', `wrong-${i}`)).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
    const refused = await signIn('olga', 'right');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // The health check does not take part.
    expect((await t.api('/health')).status).toBe(200);
  });

  it('limits one identity however many addresses try it', async () => {
    t = await startTestControlPlane({
      rateLimits: { addressBurst: 1000, addressPerMinute: 1000, identityBurst: 3, identityPerMinute: 1 },
      users: [{ name: 'olga', role: 'operator', passwordHash: await hashSecret('right') }],
    });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await signIn('olga', `wrong-${i}`)).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    // Another name is a separate budget.
    expect((await signIn('vic', 'wrong')).status).toBe(401);
  });

  it('limits wrong enrollment tokens and wrong device secrets, while a cached device keeps working', async () => {
    t = await startTestControlPlane({ rateLimits: tight });
    const cam = await enroll(t, 'cam-1');
    // Cached now: later checks of these credentials cost nothing and are not limited.
    expect((await t.api('/device/desired', { device: cam })).status).not.toBe(401);
    const token = await createToken(t);
    const enrollStatuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await t.api(
        '/devices/enroll',
        jsonBody({ protocol: 1, token: `elt_wrong-token-number-${i}` }),
      );
      enrollStatuses.push(res.status);
    }
    expect(enrollStatuses).toEqual([401, 401, 401, 401]);
    const wrongDevice = await t.api('/device/desired', {
      headers: { authorization: basicAuth('cam-1', 'not-the-secret') },
    });
    expect(wrongDevice.status).toBe(401);
    // Five wrong attempts from this address: the sixth anything is refused before hashing.
    const limited = await t.api('/devices/enroll', jsonBody({ protocol: 1, token }));
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    const limitedDevice = await t.api('/device/desired', {
      headers: { authorization: basicAuth('cam-1', 'still-not') },
    });
    expect(limitedDevice.status).toBe(429);
    // The enrolled device, credentials cached, is served as before; so is MQTT for it.
    expect((await t.api('/device/desired', { device: cam })).status).not.toBe(429);
    const client = await connectDevice(t.cp.mqttUrl, cam);
    await client.endAsync();
  });

  it('refuses MQTT CONNECT with CONNACK 3 once an address spent its budget, and the broker stays up', async () => {
    t = await startTestControlPlane({ rateLimits: tight });
    const cam = await enroll(t, 'cam-1');
    const client = await connectDevice(t.cp.mqttUrl, cam); // caches cam-1's credentials
    const codes: number[] = [];
    for (let i = 0; i < 7; i++) codes.push(await connackCode(t.cp.mqttUrl, `intruder-${i}`, 'guess'));
    expect(codes.slice(0, 5)).toEqual([4, 4, 4, 4, 4]);
    expect(codes.slice(5)).toEqual([3, 3]);
    expect(client.connected).toBe(true);
    await client.endAsync();
    // Cached credentials reconnect without a check.
    const again = await connectDevice(t.cp.mqttUrl, cam);
    await again.endAsync();
    const metrics = await (await fetch(`${t.cp.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/edgeloop_mqtt_refused_total\{reason="rate-limited"\} 2/);
  });

  it('refuses at once when the hashing queue is full, and health keeps answering', async () => {
    t = await startTestControlPlane({
      rateLimits: {
        addressBurst: 10_000,
        addressPerMinute: 10_000,
        identityBurst: 100,
        identityPerMinute: 100,
        hashConcurrency: 1,
        hashQueue: 2,
      },
    });
    // Unknown users cost a scrypt like known ones (no oracle), so each takes a place in the queue.
    const flood = Array.from({ length: 40 }, (_, i) => signIn(`ghost-${i}`, 'guess'));
    const health = await t.api('/health');
    expect(health.status).toBe(200);
    const statuses = (await Promise.all(flood)).map((r) => r.status);
    // One hashing, two waiting: the rest were refused without waiting for a turn.
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(3 + 2);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(30);
  });
});
