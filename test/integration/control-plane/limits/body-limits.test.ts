/**
 * Body limits hold while the body streams in, on every kind of route: unauthenticated JSON
 * (enrollment, dashboard sign-in), multipart uploads, and routes whose limit is large but whose
 * caller has not proven who it is. The server answers 413 (or 401) and cuts the connection
 * instead of reading a body far bigger than its limit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendChunked } from '../../../helpers/chunked-flood.ts';
import { basicAuth, type Device, enroll, startTestControlPlane, type TestControlPlane } from '../helpers.ts';

let t: TestControlPlane;
let cam: Device;
const TOTAL = 64 * 1024 * 1024;
// Far below TOTAL: what the server took before answering (its limit plus socket buffers).
const TOOK_AT_MOST = 8 * 1024 * 1024;

beforeAll(async () => {
  t = await startTestControlPlane({
    limits: { sampleMaxBytes: 256 * 1024, sampleMaxPixels: 40_000_000, modelMaxBytes: 32 * 1024 * 1024 },
  });
  cam = await enroll(t, 'cam-1');
});
afterAll(async () => {
  await t.stop();
});

describe('body limits while streaming', () => {
  it('cuts an endless JSON body to the unauthenticated enrollment route with 413', async () => {
    const out = await sendChunked(t.cp.httpUrl, '/api/v1/devices/enroll', { totalBytes: TOTAL });
    expect(out.status).toBe(413);
    expect(out.sentBeforeAnswer).toBeLessThan(TOOK_AT_MOST);
    expect(out.cutEarly).toBe(true);
  });

  it('cuts an endless JSON body to the dashboard sign-in with 413', async () => {
    const out = await sendChunked(t.cp.httpUrl, '/ui/sign-in', { totalBytes: TOTAL });
    expect(out.status).toBe(413);
    expect(out.sentBeforeAnswer).toBeLessThan(TOOK_AT_MOST);
    expect(out.cutEarly).toBe(true);
  });

  it('cuts an endless multipart sample upload from a device with 413', async () => {
    const out = await sendChunked(t.cp.httpUrl, '/api/v1/samples', {
      totalBytes: TOTAL,
      headers: {
        'content-type': 'multipart/form-data; boundary=x',
        authorization: basicAuth(cam.deviceId, cam.secret),
      },
    });
    expect(out.status).toBe(413);
    expect(out.sentBeforeAnswer).toBeLessThan(TOOK_AT_MOST);
    expect(out.cutEarly).toBe(true);
  });

  it('refuses a large upload from a caller without credentials before reading its body', async () => {
    // The model route allows 32 MiB, but only to an admin: a stranger gets 401 at once.
    const out = await sendChunked(t.cp.httpUrl, '/api/v1/models', {
      totalBytes: TOTAL,
      headers: { 'content-type': 'multipart/form-data; boundary=x' },
    });
    expect(out.status).toBe(401);
    expect(out.sentBeforeAnswer).toBeLessThan(TOOK_AT_MOST);
    expect(out.cutEarly).toBe(true);
  });

  it('answers normally after all that', async () => {
    const res = await t.api('/health');
    expect(res.status).toBe(200);
  });
});
