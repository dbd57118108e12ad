/**
 * Dashboard roles on the real HTTP server: sign-in sets a signed session cookie; viewers read but
 * every change is refused (403); operators change things and are recorded under their own name;
 * forged or missing cookies are 401; the live change stream says when the fleet changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../../../control-plane/src/auth/secrets.ts';
import { enroll, startTestControlPlane, type TestControlPlane } from './helpers.ts';
import { sampleFrom } from './sample-helpers.ts';

let t: TestControlPlane;
let sampleId: string;

beforeAll(async () => {
  t = await startTestControlPlane({
    users: [
      { name: 'olga', role: 'operator', passwordHash: await hashSecret('operator-pass') },
      { name: 'vic', role: 'viewer', passwordHash: await hashSecret('viewer-pass') },
    ],
  });
  const device = await enroll(t, 'cam-auth');
  sampleId = await sampleFrom(t, device, 1, 'red', 0.4, 'blue');
});
afterAll(async () => {
  await t.stop();
});

async function signIn(name: string, password: string): Promise<{ status: number; cookie: string }> {
  const res = await fetch(`${t.cp.httpUrl}/ui/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, password }),
  });
  return { status: res.status, cookie: (res.headers.get('set-cookie') ?? '').split(';')[0] };
}

function asUser(cookie: string, path: string, init: RequestInit = {}, dashboardHeader = true) {
  const headers = new Headers(init.headers);
  headers.set('cookie', cookie);
  if (dashboardHeader) headers.set('x-edgeloop-dashboard', '1');
  if (typeof init.body === 'string') headers.set('content-type', 'application/json');
  return fetch(`${t.cp.httpUrl}/api/v1${path}`, { ...init, headers });
}

const confirm = { method: 'POST', body: JSON.stringify({ protocol: 1, action: 'confirm' }) };

describe('dashboard roles', () => {
  it('refuses a wrong password and a forged cookie', async () => {
    expect((await signIn('olga', 'wrong-pass')).status).toBe(401);
    expect((await signIn('nobody', 'operator-pass')).status).toBe(401);
    const { cookie } = await signIn('vic', 'viewer-pass');
    const [name, body] = cookie.split('=');
    const forged = `${name}=${Buffer.from(JSON.stringify(['vic', 'admin', Date.now() + 1e7])).toString('base64url')}.${body.split('.')[1]}`;
    expect((await asUser(forged, '/session')).status).toBe(401);
    expect((await fetch(`${t.cp.httpUrl}/api/v1/session`)).status).toBe(401);
  });

  it('lets a viewer read everything and change nothing', async () => {
    const { status, cookie } = await signIn('vic', 'viewer-pass');
    expect(status).toBe(200);
    expect(cookie).toMatch(/^edgeloop_session=/);
    expect(await (await asUser(cookie, '/session')).json()).toEqual({ name: 'vic', role: 'viewer' });
    expect((await asUser(cookie, '/fleet')).status).toBe(200);
    expect((await asUser(cookie, '/labelling/queue')).status).toBe(200);
    const refused = await asUser(cookie, `/labelling/samples/${sampleId}`, confirm);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');
    expect((await asUser(cookie, '/pipeline/runs', { method: 'POST', body: '{"protocol":1}' })).status).toBe(
      403,
    );
    expect((await t.cp.store.samples.get(sampleId))?.label).toBeNull();
  });

  it('lets an operator label, recorded under their own name, only from the dashboard', async () => {
    const { cookie } = await signIn('olga', 'operator-pass');
    // A cross-site form cannot add the dashboard header, so a cookie alone cannot change things.
    expect((await asUser(cookie, `/labelling/samples/${sampleId}`, confirm, false)).status).toBe(403);
    const res = await asUser(cookie, `/labelling/samples/${sampleId}`, {
      ...confirm,
      headers: { 'x-edgeloop-actor': 'someone-else' },
    });
    expect(res.status).toBe(200);
    expect(await t.cp.store.samples.get(sampleId)).toMatchObject({ label: 'red', labelledBy: 'olga' });
  });

  it('signs in as admin with the admin token', async () => {
    const { status, cookie } = await signIn('admin', t.cp.adminToken);
    expect(status).toBe(200);
    expect(await (await asUser(cookie, '/session')).json()).toEqual({ name: 'admin', role: 'admin' });
  });

  it('streams a change event when the fleet changes', async () => {
    const { cookie } = await signIn('vic', 'viewer-pass');
    const abort = new AbortController();
    const res = await asUser(cookie, '/events/stream', { signal: abort.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('event: ready')) text += (await reader.read()).value ?? '';
    await enroll(t, 'cam-new');
    while (!/event: change\ndata: \{"topics":\[[^\]]*"fleet"/.test(text))
      text += (await reader.read()).value ?? '';
    abort.abort();
  });
});
