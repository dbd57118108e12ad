import { randomBytes } from 'node:crypto';
import {
  DesiredStateSchema,
  ErrorBodySchema,
  ModelVersionSummarySchema,
  type SampleMetadata,
  SampleSchema,
  SampleUploadResponseSchema,
  sha256Hex,
  topics,
  type UnsignedManifest,
  verifyManifest,
} from '@edgeloop/shared';
import type { MqttClient } from 'mqtt';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testManifest } from '../../helpers/manifest-fixture.ts';
import { startS3, type TestS3 } from '../../helpers/s3-server.ts';
import {
  connectDevice,
  type Device,
  enroll,
  jsonBody,
  nextMessage,
  startTestControlPlane,
  type TestControlPlane,
  type TestControlPlaneOverrides,
} from './helpers.ts';

let t: TestControlPlane;
let cam: Device;
const clients: MqttClient[] = [];

// models-samples-s3.test.ts runs this file again with the objects in S3 (a real s3rver), so model
// files, Range downloads and samples are known to work from either store.
const backend = process.env.EDGELOOP_TEST_OBJECT_STORE === 's3' ? 's3' : 'local';
let s3: TestS3 | undefined;
let runs = 0;
beforeAll(async () => {
  if (backend === 's3') s3 = await startS3();
});
afterAll(async () => {
  await s3?.stop();
});

function start(overrides: TestControlPlaneOverrides = {}) {
  return startTestControlPlane(s3 ? { ...overrides, objectStore: s3.config(`run-${++runs}/`) } : overrides);
}

beforeEach(async () => {
  t = await start();
  cam = await enroll(t, 'cam-1');
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await t.stop();
});

/** A stand-in model: random bytes and a manifest that describes them (nothing runs it here). */
function fakeModel(modelVersion: number, size = 4096) {
  const bytes = new Uint8Array(randomBytes(size));
  const manifest = testManifest(
    bytes,
    {
      name: 'shapes',
      modelVersion,
      architecture: { family: 'mobilenet-v2', alpha: 0.35, inputSize: 96, quantization: 'int8' },
      labels: ['circle', 'square'],
      output: { name: 'probs', kind: 'probabilities' },
    },
    96,
  );
  return { bytes, manifest };
}

function uploadModel(manifest: UnsignedManifest, files: Record<string, Uint8Array>, metrics?: object) {
  const form = new FormData();
  form.set('manifest', JSON.stringify(manifest));
  if (metrics) form.set('metrics', JSON.stringify(metrics));
  for (const [name, bytes] of Object.entries(files)) form.set(name, new Blob([bytes]), name);
  return t.api('/models', { method: 'POST', body: form, admin: true });
}

async function publishModel(version: number) {
  const model = fakeModel(version);
  const res = await uploadModel(model.manifest, { 'model.onnx': model.bytes });
  expect(res.status).toBe(201);
  return model;
}

async function errorCode(res: Response): Promise<string> {
  return ErrorBodySchema.parse(await res.json()).error.code;
}

describe('model versions', () => {
  it('signs an uploaded model so that it verifies with the control plane’s public key', async () => {
    const { bytes, manifest } = fakeModel(1);
    const res = await uploadModel(manifest, { 'model.onnx': bytes }, { accuracy: 0.93 });
    expect(res.status).toBe(201);
    const summary = ModelVersionSummarySchema.parse(await res.json());
    expect(summary).toMatchObject({ modelVersion: 1, name: 'shapes', labels: ['circle', 'square'] });
    expect(summary.metrics).toEqual({ accuracy: 0.93 });
    expect(summary.files).toEqual([
      { name: 'model.onnx', bytes: bytes.byteLength, sha256: sha256Hex(bytes) },
    ]);

    for (const auth of [{ admin: true }, { device: cam }]) {
      const signed = await (await t.api('/models/1/manifest', auth)).json();
      const verified = verifyManifest(signed, { trustedKeys: [t.cp.signingPublicKey] });
      expect(verified.signature?.keyId).toBe(t.cp.signingPublicKey.keyId);
      expect(verified.files).toEqual(manifest.files);
    }
    const list = (await (await t.api('/models', { admin: true })).json()) as { models: unknown[] };
    expect(list.models.map((m) => ModelVersionSummarySchema.parse(m).modelVersion)).toEqual([1]);
  });

  it('refuses a file whose hash does not match the manifest with 422 and stores nothing', async () => {
    const { bytes, manifest } = fakeModel(1);
    const tampered = new Uint8Array(bytes);
    tampered[10] ^= 0xff;
    const res = await uploadModel(manifest, { 'model.onnx': tampered });
    expect(res.status).toBe(422);
    expect(await errorCode(res)).toBe('CHECKSUM_MISMATCH');
    expect((await t.api('/models/1/manifest', { admin: true })).status).toBe(404);
    expect(await t.cp.store.models.list()).toEqual([]);
    expect(await t.cp.objects.list('models/')).toEqual([]);
  });

  it('refuses a version that is not newer than the latest with 409 naming the latest', async () => {
    await publishModel(3);
    for (const version of [2, 3]) {
      const { bytes, manifest } = fakeModel(version);
      const res = await uploadModel(manifest, { 'model.onnx': bytes });
      expect(res.status).toBe(409);
      const body = ErrorBodySchema.parse(await res.json());
      expect(body.error.code).toBe('CONFLICT');
      expect(body.error.message).toMatch(/latest version 3/);
    }
    expect((await t.cp.store.models.list()).map((m) => m.modelVersion)).toEqual([3]);
  });

  it('numbers an upload without a version itself: the next free one, never the same twice', async () => {
    const unnumbered = () => {
      const { bytes, manifest } = fakeModel(1);
      const { modelVersion: _none, ...rest } = manifest;
      return uploadModel(rest, { 'model.onnx': bytes });
    };
    // Two at once: the registry picks each number inside its publish queue, so they cannot collide.
    const both = await Promise.all([unnumbered(), unnumbered()]);
    expect(both.map((r) => r.status)).toEqual([201, 201]);
    const versions = await Promise.all(
      both.map(async (r) => ModelVersionSummarySchema.parse(await r.json()).modelVersion),
    );
    expect(versions.sort()).toEqual([1, 2]);
    await publishModel(5);
    const next = await unnumbered();
    expect(ModelVersionSummarySchema.parse(await next.json()).modelVersion).toBe(6);
    // The number is signed into the manifest devices receive.
    const signed = verifyManifest(await (await t.api('/models/6/manifest', { device: cam })).json(), {
      trustedKeys: [t.cp.signingPublicKey],
    });
    expect(signed.modelVersion).toBe(6);
  });

  it('serves model files whole and by byte range', async () => {
    const { bytes } = await publishModel(1);
    const whole = await t.api('/models/1/files/model.onnx', { device: cam });
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toBe('application/octet-stream');
    expect(whole.headers.get('content-length')).toBe(String(bytes.byteLength));
    expect(new Uint8Array(await whole.arrayBuffer())).toEqual(bytes);

    const tail = await t.api('/models/1/files/model.onnx', {
      device: cam,
      headers: { range: 'bytes=1000-' },
    });
    expect(tail.status).toBe(206);
    expect(tail.headers.get('content-range')).toBe(`bytes 1000-${bytes.byteLength - 1}/${bytes.byteLength}`);
    expect(new Uint8Array(await tail.arrayBuffer())).toEqual(bytes.subarray(1000));

    const slice = await t.api('/models/1/files/model.onnx', {
      admin: true,
      headers: { range: 'bytes=10-19' },
    });
    expect(slice.status).toBe(206);
    expect(slice.headers.get('content-length')).toBe('10');
    expect(new Uint8Array(await slice.arrayBuffer())).toEqual(bytes.subarray(10, 20));

    const past = await t.api('/models/1/files/model.onnx', {
      admin: true,
      headers: { range: 'bytes=99999-' },
    });
    expect(past.status).toBe(416);
    expect((await t.api('/models/1/files/other.bin', { admin: true })).status).toBe(404);
    expect((await t.api('/models/1/files/model.onnx')).status).toBe(401);
  });
});

describe('assignments', () => {
  async function desiredSeenBy(device: Device) {
    const client = await connectDevice(t.cp.mqttUrl, device);
    clients.push(client);
    const message = nextMessage(client, topics.desired(device.deviceId));
    await client.subscribeAsync(topics.desired(device.deviceId), { qos: 1 });
    const { payload, retain } = await message;
    expect(retain).toBe(true);
    return DesiredStateSchema.parse(JSON.parse(payload.toString()));
  }

  it('publishes a retained desired state that a device subscribing later receives', async () => {
    await publishModel(1);
    const res = await t.api('/assignments', {
      ...jsonBody({ protocol: 1, modelVersion: 1, target: { deviceIds: ['cam-1'] } }),
      admin: true,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ devices: ['cam-1'] });

    const desired = await desiredSeenBy(cam);
    expect(desired).toMatchObject({ modelVersion: 1, manifestPath: '/api/v1/models/1/manifest' });
    // The same state over HTTP, and the manifest path resolves for the device.
    expect(await (await t.api('/device/desired', { device: cam })).json()).toEqual(desired);
    expect((await fetch(`${t.cp.httpUrl}${desired.manifestPath}`, { headers: basic(cam) })).status).toBe(200);
    expect((await t.cp.store.devices.get('cam-1'))?.desiredVersion).toBe(1);
  });

  it('refuses an unknown version with 404 and changes nothing', async () => {
    const res = await t.api('/assignments', {
      ...jsonBody({ protocol: 1, modelVersion: 7, target: { all: true } }),
      admin: true,
    });
    expect(res.status).toBe(404);
    expect((await t.cp.store.devices.get('cam-1'))?.desiredVersion).toBeNull();
  });

  it('republishes desired state after a restart on the same dataDir', async () => {
    await publishModel(2);
    const other = await enroll(t, 'cam-2');
    const res = await t.api('/assignments', {
      ...jsonBody({ protocol: 1, modelVersion: 2, target: { group: 'default' } }),
      admin: true,
    });
    expect(await res.json()).toEqual({ devices: ['cam-1', 'cam-2'] });
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));

    // A new embedded broker starts empty: only the control plane can bring the state back.
    await t.restart();
    expect((await desiredSeenBy(cam)).modelVersion).toBe(2);
    expect((await desiredSeenBy(other)).modelVersion).toBe(2);
  });
});

function basic(device: Device) {
  return { authorization: `Basic ${Buffer.from(`${device.deviceId}:${device.secret}`).toString('base64')}` };
}

describe('samples', () => {
  async function jpeg(width = 64, height = 48): Promise<Uint8Array> {
    const raw = Buffer.alloc(width * height * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * 7) % 256;
    return new Uint8Array(
      await sharp(raw, { raw: { width, height, channels: 3 } })
        .jpeg()
        .toBuffer(),
    );
  }

  function metadata(overrides: Partial<SampleMetadata> = {}): SampleMetadata {
    return {
      protocol: 1,
      idempotencyKey: 'frame-0001-key',
      modelVersion: null,
      frameId: 'frame-0001',
      capturedAt: new Date().toISOString(),
      reason: 'low-confidence',
      topK: [
        { label: 'circle', confidence: 0.41 },
        { label: 'square', confidence: 0.37 },
      ],
      ...overrides,
    };
  }

  function uploadSample(meta: SampleMetadata, image: Uint8Array, type = 'image/jpeg', device = cam) {
    const form = new FormData();
    form.set('metadata', JSON.stringify(meta));
    form.set('image', new Blob([image], { type }), 'frame.jpg');
    return t.api('/samples', { method: 'POST', body: form, device });
  }

  async function listSamples(query = '') {
    const res = await t.api(`/samples${query}`, { admin: true });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { samples: unknown[]; total: number };
    return { samples: body.samples.map((s) => SampleSchema.parse(s)), total: body.total };
  }

  it('stores a JPEG with its metadata once, however often it is retried', async () => {
    const image = await jpeg();
    const first = await uploadSample(metadata(), image);
    expect(first.status).toBe(201);
    const created = SampleUploadResponseSchema.parse(await first.json());
    expect(created.duplicate).toBe(false);

    const { samples, total } = await listSamples();
    expect(total).toBe(1);
    expect(samples[0]).toMatchObject({
      sampleId: created.sampleId,
      deviceId: 'cam-1',
      frameId: 'frame-0001',
      reason: 'low-confidence',
      confidence: 0.41,
      width: 64,
      height: 48,
      bytes: image.byteLength,
      sha256: sha256Hex(image),
      label: null,
    });
    const stored = await t.api(`/samples/${created.sampleId}/image`, { admin: true });
    expect(stored.headers.get('content-type')).toBe('image/jpeg');
    expect(new Uint8Array(await stored.arrayBuffer())).toEqual(image);

    const retry = await uploadSample(metadata(), image);
    expect(retry.status).toBe(200);
    expect(SampleUploadResponseSchema.parse(await retry.json())).toMatchObject({
      sampleId: created.sampleId,
      duplicate: true,
    });
    expect((await listSamples()).total).toBe(1);
  });

  it('refuses a non-image or a truncated image with 415 and stores nothing', async () => {
    const res = await uploadSample(metadata(), new TextEncoder().encode('definitely not a jpeg'));
    expect(res.status).toBe(415);
    expect(await errorCode(res)).toBe('UNSUPPORTED_MEDIA');
    const image = await jpeg();
    const truncated = await uploadSample(
      metadata({ idempotencyKey: 'frame-cut-key' }),
      image.subarray(0, 300),
    );
    expect(truncated.status).toBe(415);
    expect((await listSamples()).total).toBe(0);
    expect(await t.cp.objects.list('samples/')).toEqual([]);
  });

  it('refuses an image over the byte limit with 413', async () => {
    await t.stop();
    t = await start({
      limits: { sampleMaxBytes: 200, sampleMaxPixels: 40_000_000, modelMaxBytes: 1 << 20 },
    });
    cam = await enroll(t, 'cam-1');
    const res = await uploadSample(metadata(), await jpeg());
    expect(res.status).toBe(413);
    expect((await listSamples()).total).toBe(0);
  });

  it('labels samples and lists them by labelled state', async () => {
    const a = SampleUploadResponseSchema.parse(await (await uploadSample(metadata(), await jpeg())).json());
    const b = SampleUploadResponseSchema.parse(
      await (await uploadSample(metadata({ idempotencyKey: 'frame-0002-key' }), await jpeg(32, 32))).json(),
    );
    // Labelled in the labelling queue: the device's top-1 ('circle') confirmed by alice.
    const res = await t.api(`/labelling/samples/${a.sampleId}`, {
      ...jsonBody({ protocol: 1, action: 'confirm' }),
      admin: true,
      headers: { 'content-type': 'application/json', 'x-edgeloop-actor': 'alice' },
    });
    expect(res.status).toBe(200);
    expect(SampleSchema.parse(await res.json())).toMatchObject({ label: 'circle', labelledBy: 'alice' });

    const labelled = await listSamples('?labelled=true');
    expect(labelled.total).toBe(1);
    expect(labelled.samples.map((s) => s.sampleId)).toEqual([a.sampleId]);
    const unlabelled = await listSamples('?labelled=false');
    expect(unlabelled.samples.map((s) => s.sampleId)).toEqual([b.sampleId]);
    expect((await listSamples('?limit=1&offset=1')).samples.map((s) => s.sampleId)).toEqual([b.sampleId]);
    expect((await t.api('/samples?labelled=maybe', { admin: true })).status).toBe(400);

    expect(
      (
        await t.api('/labelling/samples/smp-missing', {
          ...jsonBody({ protocol: 1, action: 'correct', label: 'circle' }),
          admin: true,
        })
      ).status,
    ).toBe(404);
  });
});
