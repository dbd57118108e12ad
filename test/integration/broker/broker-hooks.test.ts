/**
 * The EMQX-style HTTP hooks, called as EMQX 5 calls them (POST JSON from its body templates, the
 * shared secret in a header; no EMQX here): devices get allow/deny by their own secret, client id
 * and topic ACL; other usernames get `ignore` so the broker's own user database decides.
 */
import { BROKER_HOOK_SECRET_HEADER, deviceClientId, topics } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Device,
  enroll,
  startTestControlPlane,
  type TestControlPlane,
} from '../control-plane/helpers.ts';

const SECRET = 'hook-secret-0123456789';
let t: TestControlPlane;
let a: Device;

async function hook(path: string, body: unknown, secret: string | null = SECRET) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (secret !== null) headers[BROKER_HOOK_SECRET_HEADER] = secret;
  const res = await t.api(path, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as { result?: string; is_superuser?: boolean } };
}

const authn = (username: string, password: string, clientid: string) =>
  hook('/broker/authenticate', { username, password, clientid });
const authz = (username: string, clientid: string, action: 'publish' | 'subscribe', topic: string) =>
  hook('/broker/authorize', { username, clientid, action, topic }).then((r) => r.body.result);

beforeAll(async () => {
  t = await startTestControlPlane({ mqtt: { host: '127.0.0.1', port: 0, hooks: { secret: SECRET } } });
  a = await enroll(t, 'cam-a');
  await enroll(t, 'cam-b');
});
afterAll(async () => {
  await t.stop();
});

describe('broker authentication hook', () => {
  it('allows a device with its own secret and client id, never as superuser', async () => {
    expect((await authn('cam-a', a.secret, deviceClientId('cam-a'))).body).toEqual({
      result: 'allow',
      is_superuser: false,
    });
  });

  it("denies a wrong secret, another device's client id and another device's name", async () => {
    expect((await authn('cam-a', 'not-the-secret', deviceClientId('cam-a'))).body.result).toBe('deny');
    expect((await authn('cam-a', a.secret, deviceClientId('cam-b'))).body.result).toBe('deny');
    expect((await authn('cam-b', a.secret, deviceClientId('cam-b'))).body.result).toBe('deny');
    expect((await authn('cam-nobody', a.secret, deviceClientId('cam-nobody'))).body.result).toBe('deny');
  });

  it('ignores usernames that are not devices, so the broker’s own users decide', async () => {
    expect((await authn('control-plane', 'x', 'control-plane-1')).body.result).toBe('ignore');
    expect((await authn('Operator.Bob', 'x', 'bob')).body.result).toBe('ignore');
  });

  it('answers 401 without the shared secret or with a wrong one', async () => {
    const body = { username: 'cam-a', password: a.secret, clientid: deviceClientId('cam-a') };
    expect((await hook('/broker/authenticate', body, null)).status).toBe(401);
    expect((await hook('/broker/authenticate', body, 'wrong-secret-0123456789')).status).toBe(401);
  });
});

describe('broker authentication hook, failed attempts', () => {
  it("counts them against the client's own address (peerhost), not every client of the broker", async () => {
    const limited = await startTestControlPlane({
      mqtt: { host: '127.0.0.1', port: 0, hooks: { secret: SECRET } },
      rateLimits: { addressBurst: 3, addressPerMinute: 1, identityBurst: 100, identityPerMinute: 100 },
    });
    try {
      const cam = await enroll(limited, 'cam-c');
      const call = async (password: string, peerhost: string) => {
        const res = await fetch(`${limited.cp.httpUrl}/api/v1/broker/authenticate`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', [BROKER_HOOK_SECRET_HEADER]: SECRET },
          body: JSON.stringify({ username: 'cam-c', password, clientid: deviceClientId('cam-c'), peerhost }),
        });
        return res.status === 200 ? ((await res.json()) as { result: string }).result : res.status;
      };
      const guesses: unknown[] = [];
      for (let i = 0; i < 5; i++) guesses.push(await call(`guess-${i}`, '203.0.113.9'));
      // Three wrong guesses spend that address's budget; the rest are refused before any check.
      expect(guesses).toEqual(['deny', 'deny', 'deny', 429, 429]);
      expect(await call(cam.secret, '203.0.113.9')).toBe(429);
      // The device itself, from its own address, is not held up by them.
      expect(await call(cam.secret, '198.51.100.7')).toBe('allow');
    } finally {
      await limited.stop();
    }
  });
});

describe('broker authorization hook', () => {
  const id = deviceClientId('cam-a');

  it('allows a device its own topics', async () => {
    expect(await authz('cam-a', id, 'publish', topics.state('cam-a'))).toBe('allow');
    expect(await authz('cam-a', id, 'publish', topics.predictions('cam-a'))).toBe('allow');
    expect(await authz('cam-a', id, 'subscribe', topics.desired('cam-a'))).toBe('allow');
    expect(await authz('cam-a', id, 'subscribe', topics.config('cam-a'))).toBe('allow');
  });

  it("denies another device's topics, its own desired state as a publisher, and wildcards", async () => {
    expect(await authz('cam-a', id, 'publish', topics.desired('cam-b'))).toBe('deny');
    expect(await authz('cam-a', id, 'publish', topics.state('cam-b'))).toBe('deny');
    expect(await authz('cam-a', id, 'publish', topics.desired('cam-a'))).toBe('deny');
    expect(await authz('cam-a', id, 'subscribe', topics.desired('cam-b'))).toBe('deny');
    expect(await authz('cam-a', id, 'subscribe', 'edgeloop/v1/devices/+/desired')).toBe('deny');
  });

  it('denies a device on a client id that is not its own', async () => {
    expect(await authz('cam-a', deviceClientId('cam-b'), 'publish', topics.state('cam-a'))).toBe('deny');
  });
});

describe('without mqtt.hooks', () => {
  it('the hook routes do not answer', async () => {
    const plain = await startTestControlPlane();
    try {
      const res = await plain.api('/broker/authenticate', {
        method: 'POST',
        headers: { 'content-type': 'application/json', [BROKER_HOOK_SECRET_HEADER]: SECRET },
        body: JSON.stringify({ username: 'cam-a', password: 'x', clientid: 'x' }),
      });
      expect(res.status).toBe(404);
    } finally {
      await plain.stop();
    }
  });
});
