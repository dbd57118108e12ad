/**
 * Bytes that bypass the control plane: with its objects in S3 (a real s3rver on loopback) the
 * agent's real downloader and sample uploader move model files and samples straight to and from
 * the bucket through presigned URLs, against the real control-plane HTTP server. The device still
 * checks every file against the signed manifest, and a sample is acknowledged (and leaves the
 * device's queue) only once the control plane has read it back, checked it and recorded it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import {
  ApiHttpError,
  createCertificateAuthority,
  issueServerCertificate,
  type Manifest,
  PROTOCOL_VERSION,
  type SampleMetadata,
  sha256Hex,
  verifyManifest,
} from '@edgeloop/shared';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlaneClient } from '../../../agent/src/comms/control-plane-client.ts';
import {
  type ObjectStorageAccess,
  objectStorageAccess,
  presignedUrl,
} from '../../../agent/src/comms/presigned-transfer.ts';
import { downloadModelFiles } from '../../../agent/src/model/model-downloader.ts';
import { SampleQueue } from '../../../agent/src/samples/sample-queue.ts';
import { SampleSender } from '../../../agent/src/samples/sample-sender.ts';
import { SampleUploader } from '../../../agent/src/samples/sample-uploader.ts';
import { stagedSampleKey } from '../../../control-plane/src/samples/sample-direct-upload.ts';
import { testManifest } from '../../helpers/manifest-fixture.ts';
import { startS3, type TestS3 } from '../../helpers/s3-server.ts';
import {
  type Device,
  enroll,
  LogCapture,
  startTestControlPlane,
  type TestControlPlane,
  type TestControlPlaneOverrides,
} from '../control-plane/helpers.ts';
import { testImage } from '../control-plane/sample-helpers.ts';

let s3: TestS3;
let runs = 0;
const running: TestControlPlane[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  s3 = await startS3();
});
afterAll(async () => {
  await s3.stop();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((t) => t.stop()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function start(
  presign: { expirySeconds?: number; endpoint?: string } | 'disk' = {},
  overrides: TestControlPlaneOverrides = {},
): Promise<TestControlPlane> {
  const objectStore = presign === 'disk' ? { type: 'local' as const } : s3.config(`run-${++runs}/`, presign);
  const t = await startTestControlPlane({ ...overrides, objectStore });
  running.push(t);
  return t;
}

/** A TLS front (like a load balancer) on a plain-http port, counting the connections it takes. */
async function startTlsFront(port: string, identity: { certPem: string; keyPem: string }) {
  let count = 0;
  const open = new Set<Socket>();
  const server = createTlsServer({ cert: identity.certPem, key: identity.keyPem }, (socket) => {
    count++;
    const upstream = connect(Number(port), '127.0.0.1');
    open.add(socket).add(upstream);
    socket.pipe(upstream).pipe(socket);
    const end = () => {
      socket.destroy();
      upstream.destroy();
    };
    socket.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: own } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${own}`,
    connections: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of open) socket.destroy();
      }),
  };
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'edgeloop-presign-'));
  dirs.push(dir);
  return dir;
}

/** The agent's fetch, recording where each request went and what came back (no secrets kept). */
/**
 * A URL's life in the "expired before it was used" tests, and how late the first request leaves.
 * SigV4 dates count whole seconds, so a URL signed late in a second lives up to one second less
 * than its expiry: the first URL must expire for sure (the delay is past its whole life), and the
 * fresh one must outlive a busy machine's re-ask (with 1 s it could have almost no life left, and
 * both tests failed in CI with the second URL refused too).
 */
const LATE_EXPIRY_S = 3;
const LATE_DELAY_MS = 4_500;

function recordingFetch(options: { delayFirstToS3Ms?: number } = {}) {
  const seen: { origin: string; path: string; method: string; status: number }[] = [];
  let delayed = false;
  const wrapped = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    // A slow link: the first request to object storage leaves late, after its URL expired.
    if (options.delayFirstToS3Ms && url.origin === s3.endpoint && !delayed) {
      delayed = true;
      await new Promise((resolve) => setTimeout(resolve, options.delayFirstToS3Ms));
    }
    const res = await fetch(input, init);
    seen.push({ origin: url.origin, path: url.pathname, method: init?.method ?? 'GET', status: res.status });
    return res;
  }) as typeof fetch;
  return { fetch: wrapped, seen, toS3: () => seen.filter((r) => r.origin === s3.endpoint) };
}

function clientFor(
  t: TestControlPlane,
  device: Device,
  fetchFn?: typeof fetch,
  objectStorage: ObjectStorageAccess = { fetch: fetchFn },
): ControlPlaneClient {
  return new ControlPlaneClient(t.cp.httpUrl, device, { timeoutMs: 5_000, fetch: fetchFn, objectStorage });
}

async function publishModel(
  t: TestControlPlane,
  version = 1,
): Promise<{ bytes: Uint8Array; manifest: Manifest }> {
  const bytes = new Uint8Array(randomBytes(64 * 1024));
  const form = new FormData();
  form.set('manifest', JSON.stringify(testManifest(bytes, { modelVersion: version })));
  form.set('model.onnx', new Blob([bytes]), 'model.onnx');
  const res = await t.api('/models', { method: 'POST', body: form, admin: true });
  expect(res.status).toBe(201);
  const signed = await (await t.api(`/models/${version}/manifest`, { admin: true })).json();
  return { bytes, manifest: verifyManifest(signed, { trustedKeys: [t.cp.signingPublicKey] }) };
}

function metadataFor(key: string): SampleMetadata {
  return {
    protocol: PROTOCOL_VERSION,
    idempotencyKey: `presign-${key}-0123456789`,
    modelVersion: null,
    frameId: `frame-${key}`,
    capturedAt: new Date().toISOString(),
    reason: 'low-confidence',
    topK: [{ label: 'a', confidence: 0.3 }],
  };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ApiHttpError) return `${err.httpStatus} ${err.code}`;
    throw err;
  }
  throw new Error('expected the call to fail');
}

/** Nothing a log line holds may let its reader use a presigned URL. */
function expectNoPresignedUrlIn(...captures: LogCapture[]): void {
  for (const capture of captures) {
    const text = JSON.stringify(capture.entries);
    expect(text).not.toMatch(/X-Amz-Signature=[0-9a-f]/i);
    expect(text).not.toMatch(/X-Amz-Credential=[A-Z0-9]/i);
  }
}

describe('model files through presigned GET URLs', () => {
  it('downloads from the bucket, checks the signed sha256, and refuses a tampered object', async () => {
    const t = await start();
    const cam = await enroll(t, 'cam-1');
    const { bytes, manifest } = await publishModel(t);

    // A device is sent to the bucket; a person still gets the bytes from the control plane.
    const asDevice = await t.api('/models/1/files/model.onnx', { device: cam, redirect: 'manual' });
    expect(asDevice.status).toBe(307);
    const location = new URL(asDevice.headers.get('location') ?? '');
    expect(location.origin).toBe(s3.endpoint);
    expect(location.searchParams.get('X-Amz-Expires')).toBe('300');
    const asViewer = await t.api('/models/1/files/model.onnx', { admin: true, redirect: 'manual' });
    expect(asViewer.status).toBe(200);
    expect(new Uint8Array(await asViewer.arrayBuffer())).toEqual(bytes);

    const agentLogs = new LogCapture();
    const net = recordingFetch();
    const dir = await tempDir();
    await downloadModelFiles(clientFor(t, cam, net.fetch), manifest, dir, { logger: agentLogs.logger });
    expect(new Uint8Array(await readFile(join(dir, 'model.onnx')))).toEqual(bytes);
    expect(net.toS3()).toEqual([expect.objectContaining({ method: 'GET', status: 200 })]);
    // An interrupted download resumes from the bucket with a Range (RFC 9110 §14.2).
    const rest = await clientFor(t, cam).downloadModelFile(1, 'model.onnx', { offset: 1000 });
    expect(rest.status).toBe(206);
    expect(new Uint8Array(await rest.arrayBuffer())).toEqual(bytes.subarray(1000));

    // Someone with write access to the bucket swaps the bytes (same length): the device refuses.
    const tampered = new Uint8Array(bytes);
    tampered[100] ^= 0xff;
    await t.cp.objects.put('models/1/model.onnx', tampered);
    const again = await tempDir();
    await expect(
      downloadModelFiles(clientFor(t, cam), manifest, again, { logger: agentLogs.logger }),
    ).rejects.toMatchObject({ code: 'CHECKSUM_MISMATCH' });
    expectNoPresignedUrlIn(t.logs, agentLogs);
  });

  it('asks the control plane again when a URL expired before it was used', async () => {
    const t = await start({ expirySeconds: LATE_EXPIRY_S });
    const cam = await enroll(t, 'cam-1');
    const { bytes, manifest } = await publishModel(t);
    const net = recordingFetch({ delayFirstToS3Ms: LATE_DELAY_MS });
    const dir = await tempDir();
    await downloadModelFiles(clientFor(t, cam, net.fetch), manifest, dir, {
      logger: new LogCapture().logger,
    });
    expect(new Uint8Array(await readFile(join(dir, 'model.onnx')))).toEqual(bytes);
    expect(net.toS3().map((r) => r.status)).toEqual([403, 200]);
    const asked = net.seen.filter((r) => r.path.endsWith('/models/1/files/model.onnx'));
    expect(asked.map((r) => r.status)).toEqual([307, 307]);
  });
});

describe('samples through presigned PUT URLs', () => {
  it('leaves the queue only once committed, stored once in the bucket, no candidate left behind', async () => {
    const t = await start();
    const cam = await enroll(t, 'cam-1');
    const agentLogs = new LogCapture();
    const net = recordingFetch();
    const client = clientFor(t, cam, net.fetch);
    const queue = await SampleQueue.open(await tempDir(), { maxQueued: 10, logger: agentLogs.logger });
    const jpeg = await testImage(1, 'jpeg');
    const metadata = metadataFor('one');
    await queue.add({ metadata, confidence: 0.3, jpeg });

    const acknowledged: string[] = [];
    const uploader = new SampleUploader({
      queue,
      client,
      logger: agentLogs.logger,
      retry: { baseMs: 50, maxMs: 200 },
      onUploaded: (_entry, response) => acknowledged.push(response.sampleId),
    });
    uploader.start();
    while (queue.size() > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    await uploader.stop();

    expect(net.toS3()).toEqual([expect.objectContaining({ method: 'PUT', status: 200 })]);
    const { samples, total } = await t.cp.store.samples.list({ limit: 10, offset: 0 });
    expect(total).toBe(1);
    expect(acknowledged).toEqual([samples[0].sampleId]);
    expect(samples[0]).toMatchObject({ deviceId: 'cam-1', sha256: sha256Hex(jpeg), bytes: jpeg.byteLength });
    expect(await t.cp.objects.get(samples[0].objectKey)).toEqual(jpeg);
    expect(await t.cp.objects.list('sample-uploads/')).toEqual([]);

    // A commit retried after a lost answer, and a whole retried PUT + commit: the first sample.
    const commit = { protocol: PROTOCOL_VERSION, metadata, bytes: jpeg.byteLength, sha256: sha256Hex(jpeg) };
    const retried = await client.commitSampleUpload(commit);
    expect(retried).toMatchObject({ sampleId: samples[0].sampleId, duplicate: true });
    const again = await new SampleSender(client).send(metadata, jpeg);
    expect(again).toMatchObject({ sampleId: samples[0].sampleId, duplicate: true });
    // The same image under a new key (a frame captured twice) is the first sample too.
    const sameImage = await new SampleSender(client).send(metadataFor('same-image'), jpeg);
    expect(sameImage).toMatchObject({ sampleId: samples[0].sampleId, duplicate: true });
    expect((await t.cp.store.samples.list({ limit: 10, offset: 0 })).total).toBe(1);
    expect(await t.cp.objects.list('sample-uploads/')).toEqual([]);
    expectNoPresignedUrlIn(t.logs, agentLogs);
  });

  it('refuses a commit without an upload, of other bytes, or of another device’s upload', async () => {
    const t = await start();
    const cam = await enroll(t, 'cam-1');
    const other = await enroll(t, 'cam-2');
    const client = clientFor(t, cam);
    const jpeg = await testImage(2, 'jpeg');
    const request = (key: string, body = jpeg) => ({
      protocol: PROTOCOL_VERSION,
      idempotencyKey: metadataFor(key).idempotencyKey,
      bytes: body.byteLength,
      sha256: sha256Hex(body),
      contentType: 'image/jpeg' as const,
    });
    const commitOf = (key: string, body = jpeg) => ({
      protocol: PROTOCOL_VERSION,
      metadata: metadataFor(key),
      bytes: body.byteLength,
      sha256: sha256Hex(body),
    });
    const slotFor = async (c: ControlPlaneClient, key: string) => {
      const slot = await c.requestSampleUpload(request(key));
      if (slot.transfer !== 'presigned') throw new Error('expected a presigned slot');
      return slot;
    };

    // Commit without a PUT.
    expect(await codeOf(client.commitSampleUpload(commitOf('none')))).toBe('409 UPLOAD_MISSING');

    // Other bytes than declared (real S3 refuses them by signature; s3rver does not check).
    const shorter = jpeg.slice(0, jpeg.byteLength - 10);
    await client.putSampleObject(await slotFor(client, 'short'), shorter);
    expect(await codeOf(client.commitSampleUpload(commitOf('short')))).toBe('409 UPLOAD_MISMATCH');
    const flipped = new Uint8Array(jpeg);
    flipped[flipped.length - 20] ^= 0xff;
    await client.putSampleObject(await slotFor(client, 'flipped'), flipped);
    expect(await codeOf(client.commitSampleUpload(commitOf('flipped')))).toBe('409 UPLOAD_MISMATCH');
    // The bad candidates are gone: the retry starts clean.
    expect(await t.cp.objects.list('sample-uploads/')).toEqual([]);

    // cam-2 cannot commit what cam-1 uploaded: the key is per device.
    const slot = await slotFor(client, 'mine');
    expect(new URL(slot.url).pathname).toContain(
      stagedSampleKey('cam-1', metadataFor('mine').idempotencyKey),
    );
    await client.putSampleObject(slot, jpeg);
    expect(await codeOf(clientFor(t, other).commitSampleUpload(commitOf('mine')))).toBe('409 UPLOAD_MISSING');
    expect((await t.cp.store.samples.list({ limit: 10, offset: 0 })).total).toBe(0);
    expect(await client.commitSampleUpload(commitOf('mine'))).toMatchObject({ duplicate: false });

    // Bounded like the posted intake.
    const big = { ...request('big'), bytes: 10 * 1024 * 1024 };
    expect(await codeOf(client.requestSampleUpload(big))).toBe('413 PAYLOAD_TOO_LARGE');
    // Only http(s) URLs are followed, and plain http only to loopback unless the agent is insecure.
    expect(() => presignedUrl('file:///etc/passwd')).toThrow(/http\(s\)/);
    expect(() => presignedUrl('http://s3.example.com/b/k?X-Amz-Signature=00')).toThrow(/plaintext/);
    expect(presignedUrl('http://s3.example.com/b/k', { allowPlaintext: true }).host).toBe('s3.example.com');
  });

  it('asks for a fresh slot when the PUT URL expired before it was used', async () => {
    const t = await start({ expirySeconds: LATE_EXPIRY_S });
    const cam = await enroll(t, 'cam-1');
    const net = recordingFetch({ delayFirstToS3Ms: LATE_DELAY_MS });
    const jpeg = await testImage(3, 'jpeg');
    const sent = await new SampleSender(clientFor(t, cam, net.fetch)).send(metadataFor('late'), jpeg);
    expect(sent.duplicate).toBe(false);
    expect(net.toS3().map((r) => r.status)).toEqual([403, 200]);
    expect(net.seen.filter((r) => r.path.endsWith('/samples/uploads')).length).toBe(2);
    expect((await t.cp.store.samples.list({ limit: 10, offset: 0 })).total).toBe(1);
  });
});

describe('an S3 endpoint with its own CA', () => {
  it('is trusted through tls.objectStorageCaFile, not through the control plane or system CAs', async () => {
    // Devices reach the bucket at an https endpoint (a TLS front on the same s3rver) whose
    // certificate chains to a private CA; the control plane signs URLs for that endpoint.
    const ca = await createCertificateAuthority('bucket CA', 1);
    const front = await startTlsFront(
      new URL(s3.endpoint).port,
      await issueServerCertificate(ca, { names: [], addresses: ['127.0.0.1'] }, 1),
    );
    try {
      const t = await start({ endpoint: front.url });
      const cam = await enroll(t, 'cam-1');
      const { bytes, manifest } = await publishModel(t);
      const caFile = join(await tempDir(), 'bucket-ca.pem');
      await writeFile(caFile, ca.certPem);
      const access = await objectStorageAccess({
        tls: { objectStorageCaFile: caFile, clientCertificate: false },
        insecure: false,
      });
      const client = clientFor(t, cam, undefined, access);
      const dir = await tempDir();
      await downloadModelFiles(client, manifest, dir, { logger: new LogCapture().logger });
      expect(new Uint8Array(await readFile(join(dir, 'model.onnx')))).toEqual(bytes);
      const sent = await new SampleSender(client).send(metadataFor('tls'), await testImage(4, 'jpeg'));
      expect(sent.duplicate).toBe(false);
      expect(front.connections()).toBeGreaterThan(0);

      // Without that setting the bucket's certificate is not trusted, and nothing is stored.
      const untrusting = new SampleSender(clientFor(t, cam));
      await expect(
        untrusting.send(metadataFor('untrusted'), await testImage(5, 'jpeg')),
      ).rejects.toMatchObject({
        code: 'UPSTREAM_FAILED',
      });
      expect((await t.cp.store.samples.list({ limit: 10, offset: 0 })).total).toBe(1);
    } finally {
      await front.close();
    }
  });
});

describe('the disk store (embedded default)', () => {
  it('keeps both transfers on the control plane, asking about samples once, not per sample', async () => {
    const t = await start('disk');
    const cam = await enroll(t, 'cam-1');
    const { bytes, manifest } = await publishModel(t);
    const net = recordingFetch();
    const client = clientFor(t, cam, net.fetch);
    const dir = await tempDir();
    await downloadModelFiles(client, manifest, dir, { logger: new LogCapture().logger });
    expect(new Uint8Array(await readFile(join(dir, 'model.onnx')))).toEqual(bytes);

    const sender = new SampleSender(client);
    for (const i of [1, 2, 3]) {
      const sent = await sender.send(metadataFor(`disk-${i}`), await testImage(10 + i, 'jpeg'));
      expect(sent.duplicate).toBe(false);
    }
    const routes = net.seen.map((r) => `${r.method} ${r.path.replace(/^\/api\/v1/, '')} ${r.status}`);
    expect(routes).toEqual([
      'GET /models/1/files/model.onnx 200',
      'POST /samples/uploads 200',
      'POST /samples 201',
      'POST /samples 201',
      'POST /samples 201',
    ]);
    expect((await t.cp.store.samples.list({ limit: 10, offset: 0 })).total).toBe(3);
  });
});
