/**
 * Sessions and attribution: sign-out ends a session on the server (a copied cookie stops
 * working), sign-in takes JSON only (no login CSRF from an HTML form), unknown user names cost a
 * password check like known ones, the recorded actor is the caller and never a body field, and a
 * device that uploads another device's image learns nothing of that device's record.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../../../control-plane/src/auth/secrets.ts';
import { createSessions } from '../../../control-plane/src/auth/sessions.ts';
import { testManifest } from '../../helpers/manifest-fixture.ts';
import { type Device, enroll, jsonBody, startTestControlPlane, type TestControlPlane } from './helpers.ts';
import { sampleMetadata, testImage, uploadSample } from './sample-helpers.ts';

let t: TestControlPlane;
let camA: Device;
let camB: Device;
beforeAll(async () => {
  t = await startTestControlPlane({
    users: [{ name: 'olga', role: 'operator', passwordHash: await hashSecret('operator-pass') }],
  });
  camA = await enroll(t, 'cam-a');
  camB = await enroll(t, 'cam-b');
});
afterAll(async () => {
  await t.stop();
});

function signIn(body: string, contentType: string): Promise<Response> {
  return fetch(`${t.cp.httpUrl}/ui/sign-in`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
  });
}

async function olgaCookie(): Promise<string> {
  const res = await signIn(JSON.stringify({ name: 'olga', password: 'operator-pass' }), 'application/json');
  expect(res.status).toBe(200);
  return (res.headers.get('set-cookie') ?? '').split(';')[0];
}

const asCookie = (cookie: string, path: string, init: RequestInit = {}) =>
  fetch(`${t.cp.httpUrl}/api/v1${path}`, {
    ...init,
    headers: { cookie, 'x-edgeloop-dashboard': '1', 'content-type': 'application/json' },
  });

describe('sessions', () => {
  it('sign-out revokes the session on the server: the old cookie is refused', async () => {
    const cookie = await olgaCookie();
    expect((await asCookie(cookie, '/session')).status).toBe(200);
    const out = await fetch(`${t.cp.httpUrl}/ui/sign-out`, { method: 'POST', headers: { cookie } });
    expect(out.status).toBe(200);
    expect((await asCookie(cookie, '/session')).status).toBe(401);
    // Revocations live in the database: a restart does not bring the cookie back.
    await t.restart();
    expect((await asCookie(cookie, '/session')).status).toBe(401);
    expect((await asCookie(await olgaCookie(), '/session')).status).toBe(200);
  });

  it('takes sign-in as JSON only, so a cross-site form cannot sign a victim in', async () => {
    const form = await signIn('name=olga&password=operator-pass', 'application/x-www-form-urlencoded');
    expect(form.status).toBe(415);
    expect(form.headers.get('set-cookie')).toBeNull();
    const text = await signIn(JSON.stringify({ name: 'olga', password: 'operator-pass' }), 'text/plain');
    expect(text.status).toBe(415);
    expect(text.headers.get('set-cookie')).toBeNull();
  });

  it('spends a password check on unknown user names too', async () => {
    const sessions = createSessions({
      users: [{ name: 'olga', role: 'operator', passwordHash: await hashSecret('operator-pass') }],
      adminToken: 'a'.repeat(32),
      sessionHours: 1,
    });
    await sessions.signIn('nobody', 'x'); // the dummy hash is made once, on first use
    const median = async (name: string) => {
      const times: number[] = [];
      for (let i = 0; i < 7; i++) {
        const start = performance.now();
        expect(await sessions.signIn(name, 'wrong-pass')).toBeNull();
        times.push(performance.now() - start);
      }
      return times.sort((a, b) => a - b)[3];
    };
    const known = await median('olga');
    const unknown = await median('nobody');
    // Without the dummy check an unknown name answers in microseconds, a known one in ~50 ms.
    expect(unknown).toBeGreaterThan(known * 0.3);
  });
});

describe('attribution', () => {
  it('records the caller, never a createdBy from the body or the uploaded lineage', async () => {
    const bytes = new Uint8Array(randomBytes(256));
    const form = new FormData();
    form.set('manifest', JSON.stringify(testManifest(bytes, { modelVersion: 1, labels: ['cat', 'dog'] })));
    form.set('lineage', JSON.stringify({ createdBy: 'mallory' }));
    form.set('model.onnx', new Blob([bytes]), 'model.onnx');
    const published = await t.api('/models', {
      method: 'POST',
      body: form,
      admin: true,
      headers: { 'x-edgeloop-actor': 'frank' },
    });
    expect(published.status).toBe(201);
    const details = async () =>
      (
        (await (await t.api('/models/1/details', { admin: true })).json()) as {
          lineage: { createdBy: string };
        }
      ).lineage.createdBy;
    expect(await details()).toBe('frank');

    const cookie = await olgaCookie();
    const lineage = { protocol: 1, parameters: {}, createdBy: 'mallory' };
    const res = await asCookie(cookie, '/models/1/lineage', { method: 'PUT', body: JSON.stringify(lineage) });
    expect(res.status).toBe(200);
    expect(await details()).toBe('olga');
  });

  it("answers a duplicate of another device's image without that device's record", async () => {
    const image = await testImage(77);
    const first = await uploadSample(
      t,
      camA,
      sampleMetadata('a-77', [{ label: 'secret-class', confidence: 0.4 }]),
      image,
    );
    expect(first.status).toBe(201);
    const label = { protocol: 1, action: 'correct', label: 'cat', addClass: true };
    expect(
      (await t.api(`/labelling/samples/${first.body.sampleId}`, { ...jsonBody(label), admin: true })).status,
    ).toBe(200);

    const metaB = sampleMetadata('b-77', [{ label: 'dog', confidence: 0.6 }]);
    const second = await uploadSample(t, camB, metaB, image);
    expect(second.status).toBe(200);
    const reply = second.body as unknown as { duplicate: boolean; sample: Record<string, unknown> };
    const text = JSON.stringify(reply);
    expect(reply.duplicate).toBe(true);
    expect(reply.sample).toMatchObject({
      deviceId: 'cam-b',
      label: null,
      labelledBy: null,
      frameId: metaB.frameId,
    });
    for (const leak of ['cam-a', 'secret-class', 'frame-a-77']) expect(text).not.toContain(leak);
  });
});
