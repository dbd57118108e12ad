/**
 * Device tags over the real HTTP API: set at enrollment, changed by an admin or operator (not a
 * viewer, not a device), listed with the device, and used by assignments to reach only the devices
 * having every tag.
 */
import { DeviceSummarySchema, ErrorBodySchema } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../../../control-plane/src/auth/secrets.ts';
import {
  createToken,
  type Device,
  enroll,
  jsonBody,
  startTestControlPlane,
  type TestControlPlane,
} from './helpers.ts';

let t: TestControlPlane;
let plain: Device;

beforeAll(async () => {
  t = await startTestControlPlane({
    users: [{ name: 'vic', role: 'viewer', passwordHash: await hashSecret('viewer-pass') }],
  });
  plain = await enroll(t, 'cam-plain');
});
afterAll(async () => {
  await t.stop();
});

const patch = (body: unknown): RequestInit => ({ ...jsonBody(body), method: 'PATCH' });

async function device(id: string) {
  const res = await t.api('/devices', { admin: true });
  const { devices } = (await res.json()) as { devices: unknown[] };
  return devices.map((d) => DeviceSummarySchema.parse(d)).find((d) => d.deviceId === id);
}

describe('device tags', () => {
  it('takes tags at enrollment, sorted and once', async () => {
    const token = await createToken(t, { group: 'yard' });
    const res = await t.api(
      '/devices/enroll',
      jsonBody({ protocol: 1, token, deviceId: 'cam-tagged', tags: ['site-a', 'outdoor'] }),
    );
    expect(res.status).toBe(201);
    expect(await device('cam-tagged')).toMatchObject({ group: 'yard', tags: ['outdoor', 'site-a'] });
    expect(await device('cam-plain')).toMatchObject({ group: 'default', tags: [] });
  });

  it('lets an admin change group and tags, and refuses bad input, a device and a viewer', async () => {
    const res = await t.api('/devices/cam-plain', {
      ...patch({ protocol: 1, group: 'lobby', tags: ['indoor', 'site-a'] }),
      admin: true,
    });
    expect(res.status).toBe(200);
    expect(DeviceSummarySchema.parse(await res.json())).toMatchObject({
      group: 'lobby',
      tags: ['indoor', 'site-a'],
    });
    expect(await device('cam-plain')).toMatchObject({ group: 'lobby', tags: ['indoor', 'site-a'] });

    const bad = await t.api('/devices/cam-plain', {
      ...patch({ protocol: 1, tags: ['No Spaces'] }),
      admin: true,
    });
    expect(bad.status).toBe(400);
    expect(ErrorBodySchema.parse(await bad.json()).error.code).toBe('VALIDATION_FAILED');
    const missing = await t.api('/devices/cam-nobody', { ...patch({ protocol: 1, tags: [] }), admin: true });
    expect(missing.status).toBe(404);
    const asDevice = await t.api('/devices/cam-plain', {
      ...patch({ protocol: 1, tags: [] }),
      device: plain,
    });
    expect(asDevice.status).toBe(401);

    const signIn = await fetch(`${t.cp.httpUrl}/ui/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'vic', password: 'viewer-pass' }),
    });
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0];
    const asViewer = await fetch(`${t.cp.httpUrl}/api/v1/devices/cam-plain`, {
      ...patch({ protocol: 1, tags: [] }),
      headers: { 'content-type': 'application/json', cookie, 'x-edgeloop-dashboard': '1' },
    });
    expect(asViewer.status).toBe(403);
    expect(await device('cam-plain')).toMatchObject({ tags: ['indoor', 'site-a'] });
  });

  it('filters the Fleet view by tag', async () => {
    const res = await t.api('/fleet?tags=site-a,outdoor', { admin: true });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { tags: string[]; devices: { deviceId: string; tags: string[] }[] };
    expect(body.tags).toEqual(['indoor', 'outdoor', 'site-a']);
    expect(body.devices.map((d) => d.deviceId)).toEqual(['cam-tagged']);
  });
});
