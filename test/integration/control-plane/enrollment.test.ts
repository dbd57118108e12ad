import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { DeviceSummarySchema, EnrollResponseSchema, ErrorBodySchema } from '@edgeloop/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createToken, jsonBody, startTestControlPlane, type TestControlPlane } from './helpers.ts';

let t: TestControlPlane;

beforeEach(async () => {
  t = await startTestControlPlane();
});

afterEach(async () => {
  await t.stop();
});

async function listDeviceIds(): Promise<string[]> {
  const res = await t.api('/devices', { admin: true });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { devices: unknown[] };
  return body.devices.map((d) => DeviceSummarySchema.parse(d).deviceId);
}

async function expectUnauthorized(res: Response): Promise<void> {
  expect(res.status).toBe(401);
  expect(ErrorBodySchema.parse(await res.json()).error.code).toBe('UNAUTHORIZED');
}

describe('enrollment', () => {
  it('enrolls a device with a token and lists it in the token’s group', async () => {
    const token = await createToken(t, { group: 'lobby' });
    const res = await t.api('/devices/enroll', jsonBody({ protocol: 1, token, name: 'door cam' }));
    expect(res.status).toBe(201);
    const enrolled = EnrollResponseSchema.parse(await res.json());
    expect(enrolled.deviceId).toMatch(/^dev-[0-9a-f]{8}$/);
    expect(enrolled.secret.length).toBeGreaterThanOrEqual(43);
    expect(enrolled.mqttUrl).toBe(t.cp.mqttUrl);

    const list = await t.api('/devices', { admin: true });
    const { devices } = (await list.json()) as { devices: unknown[] };
    expect(devices.map((d) => DeviceSummarySchema.parse(d))).toEqual([
      expect.objectContaining({
        deviceId: enrolled.deviceId,
        name: 'door cam',
        group: 'lobby',
        online: false,
      }),
    ]);

    const one = await t.api(`/devices/${enrolled.deviceId}`, { admin: true });
    expect(one.status).toBe(200);
    // The secret is shown once; the database keeps only a salted hash of it.
    expect(await t.cp.store.devices.secretHash(enrolled.deviceId)).toMatch(/^hmac-sha256\$/);
    expect(await t.cp.store.devices.secretHash(enrolled.deviceId)).not.toContain(enrolled.secret);
  });

  it('gives a requested id and refuses it a second time with 409 without spending the token', async () => {
    const token = await createToken(t, { uses: 2 });
    const first = await t.api('/devices/enroll', jsonBody({ protocol: 1, token, deviceId: 'cam-1' }));
    expect(first.status).toBe(201);
    const again = await t.api('/devices/enroll', jsonBody({ protocol: 1, token, deviceId: 'cam-1' }));
    expect(again.status).toBe(409);
    expect(ErrorBodySchema.parse(await again.json()).error.code).toBe('CONFLICT');
    // The refused attempt left the token's second use intact.
    const second = await t.api('/devices/enroll', jsonBody({ protocol: 1, token, deviceId: 'cam-2' }));
    expect(second.status).toBe(201);
    expect(await listDeviceIds()).toEqual(['cam-1', 'cam-2']);
  });

  it('refuses an unknown token with 401 and creates nothing', async () => {
    const res = await t.api(
      '/devices/enroll',
      jsonBody({ protocol: 1, token: 'elt_not-a-real-token-at-all' }),
    );
    await expectUnauthorized(res);
    expect(await listDeviceIds()).toEqual([]);
  });

  it('refuses a used-up token with 401 and creates nothing more', async () => {
    const token = await createToken(t, { uses: 1 });
    expect((await t.api('/devices/enroll', jsonBody({ protocol: 1, token, deviceId: 'cam-1' }))).status).toBe(
      201,
    );
    const res = await t.api('/devices/enroll', jsonBody({ protocol: 1, token, deviceId: 'cam-2' }));
    await expectUnauthorized(res);
    expect(await listDeviceIds()).toEqual(['cam-1']);
  });

  it('refuses an expired token with 401 and creates nothing', async () => {
    // The API never mints an already-expired token, so plant one the way the control plane stores
    // them: by sha256 of the token text.
    const token = 'elt_expired-token-for-this-test';
    await t.cp.store.devices.createEnrollmentToken({
      tokenHash: createHash('sha256').update(token).digest('hex'),
      group: 'default',
      usesLeft: 5,
      expiresAt: new Date(Date.now() - 1000).toISOString(),
    });
    const res = await t.api('/devices/enroll', jsonBody({ protocol: 1, token, deviceId: 'cam-late' }));
    await expectUnauthorized(res);
    expect(await listDeviceIds()).toEqual([]);
  });

  it('refuses the reserved service identity as a device id', async () => {
    const token = await createToken(t);
    const res = await t.api('/devices/enroll', jsonBody({ protocol: 1, token, deviceId: 'control-plane' }));
    expect(res.status).toBe(409);
    expect(await listDeviceIds()).toEqual([]);
  });

  it('rejects admin routes without a token, with a wrong token and with device credentials', async () => {
    const device = EnrollResponseSchema.parse(
      await (
        await t.api(
          '/devices/enroll',
          jsonBody({ protocol: 1, token: await createToken(t), deviceId: 'cam-1' }),
        )
      ).json(),
    );
    await expectUnauthorized(await t.api('/devices'));
    await expectUnauthorized(
      await t.api('/devices', { headers: { authorization: 'Bearer wrong-token-123456' } }),
    );
    await expectUnauthorized(await t.api('/devices', { device }));
    await expectUnauthorized(await t.api('/enrollment-tokens', jsonBody({ protocol: 1 })));
    await expectUnauthorized(
      await t.api('/enrollment-tokens', {
        ...jsonBody({ protocol: 1 }),
        headers: { 'content-type': 'application/json', authorization: `Bearer ${t.cp.adminToken}x` },
      }),
    );
    // The device's own route takes its credentials, and only those.
    expect((await t.api('/device/desired', { device })).status).toBe(200);
    await expectUnauthorized(await t.api('/device/desired', { device: { ...device, secret: 'nope' } }));
    await expectUnauthorized(await t.api('/device/desired', { admin: true }));
  });

  it('keeps the generated admin token in dataDir with mode 0600 and reuses it after a restart', async () => {
    const file = `${t.dataDir}/admin-token`;
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8').trim()).toBe(t.cp.adminToken);
    const before = t.cp.adminToken;
    await t.restart();
    expect(t.cp.adminToken).toBe(before);
    expect((await t.api('/devices', { admin: true })).status).toBe(200);
  });
});
