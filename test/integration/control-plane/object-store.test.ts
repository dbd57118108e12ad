/**
 * One contract, two ObjectStores: the local folder and S3 (against a real s3rver). Whatever the
 * control plane relies on — overwrite, missing keys, listing by prefix, key validation — must hold
 * for both, or switching `objectStore.type` would change behaviour.
 */
import { randomBytes } from 'node:crypto';
import { ControlPlaneConfigSchema, loadConfig } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalObjectStore } from '../../../control-plane/src/object-store/local-object-store.ts';
import type { ObjectStore } from '../../../control-plane/src/object-store/object-store.ts';
import { createS3ObjectStore } from '../../../control-plane/src/object-store/s3-object-store.ts';
import { startS3, type TestS3 } from '../../helpers/s3-server.ts';
import { tempDir } from './helpers.ts';

let s3: TestS3;
const dir = tempDir();
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(async () => {
  await s3.stop();
  dir.remove();
});

const backends: [string, () => ObjectStore][] = [
  ['local', () => createLocalObjectStore(dir.path)],
  ['s3', () => createS3ObjectStore({ ...s3.config('cp-a/') })],
];

describe.each(backends)('%s object store', (_name, open) => {
  it('stores, overwrites, lists by prefix and deletes', async () => {
    const store = open();
    const a = new Uint8Array(randomBytes(3000));
    const b = new Uint8Array(randomBytes(10));
    expect(await store.has('models/1/model.onnx')).toBe(false);
    await store.put('models/1/model.onnx', a);
    expect(await store.has('models/1/model.onnx')).toBe(true);
    expect(await store.get('models/1/model.onnx')).toEqual(a);
    await store.put('models/1/model.onnx', b);
    expect(await store.get('models/1/model.onnx')).toEqual(b);

    await store.put('imports/shirts/one.jpg', a);
    await store.put('imports/shoes/two.jpg', b);
    await store.put('importsx/other.jpg', b);
    expect(await store.list('imports/')).toEqual(['imports/shirts/one.jpg', 'imports/shoes/two.jpg']);
    expect(await store.list('imports/sh')).toEqual(['imports/shirts/one.jpg', 'imports/shoes/two.jpg']);
    expect(await store.list('nothing/')).toEqual([]);

    await store.delete('models/1/model.onnx');
    await store.delete('models/1/model.onnx');
    expect(await store.has('models/1/model.onnx')).toBe(false);
    await expect(store.get('models/1/model.onnx')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('streams an object whole or by byte range, and knows its size', async () => {
    const store = open();
    const bytes = new Uint8Array(randomBytes(5000));
    await store.put('models/9/model.onnx', bytes);
    expect(await store.size('models/9/model.onnx')).toBe(5000);
    const read = async (stream: ReadableStream<Uint8Array>) =>
      new Uint8Array(await new Response(stream).arrayBuffer());
    expect(await read(await store.stream('models/9/model.onnx'))).toEqual(bytes);
    expect(await read(await store.stream('models/9/model.onnx', { start: 4990, end: 4999 }))).toEqual(
      bytes.subarray(4990),
    );
    await expect(store.size('models/9/none.onnx')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(store.stream('models/9/none.onnx')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses keys and prefixes that could leave the store’s root', async () => {
    const store = open();
    for (const key of ['../x', 'a//b', '/abs', 'a/./b', 'a\\b', '']) {
      await expect(store.put(key, new Uint8Array(1))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    }
    await expect(store.list('../')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});

it('keeps two S3 prefixes in one bucket apart', async () => {
  const a = createS3ObjectStore(s3.config('cp-a/'));
  const other = createS3ObjectStore(s3.config('cp-b/'));
  await a.put('samples/x.jpg', new Uint8Array([1, 2, 3]));
  expect(await other.has('samples/x.jpg')).toBe(false);
  expect(await other.list('')).toEqual([]);
  a.close();
  other.close();
});

it('takes the S3 settings from EDGELOOP_CP_ environment variables', () => {
  const config = loadConfig(ControlPlaneConfigSchema, {
    envPrefix: 'EDGELOOP_CP_',
    env: {
      EDGELOOP_CP_DATA_DIR: '/tmp/x',
      EDGELOOP_CP_OBJECT_STORE__TYPE: 's3',
      EDGELOOP_CP_OBJECT_STORE__BUCKET: 'fleet-data',
      EDGELOOP_CP_OBJECT_STORE__ENDPOINT: 'http://127.0.0.1:9000',
      EDGELOOP_CP_OBJECT_STORE__FORCE_PATH_STYLE: 'true',
      EDGELOOP_CP_OBJECT_STORE__PREFIX: 'site-1/',
      EDGELOOP_CP_OBJECT_STORE__PRESIGN__EXPIRY_SECONDS: '60',
      EDGELOOP_CP_OBJECT_STORE__PRESIGN__ENDPOINT: 'https://s3.example.com',
    },
  });
  expect(config.objectStore).toEqual({
    type: 's3',
    bucket: 'fleet-data',
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:9000',
    forcePathStyle: true,
    prefix: 'site-1/',
    // Devices get presigned URLs by default, signed for the endpoint they reach.
    presign: { enabled: true, expirySeconds: 60, endpoint: 'https://s3.example.com' },
  });
  expect(ControlPlaneConfigSchema.parse({ dataDir: '/tmp/x' }).objectStore).toEqual({ type: 'local' });
});

it('hands out one presigned GET URL per object while it has at least half its lifetime left', async () => {
  const objects = createS3ObjectStore({ ...s3.config('cp-a/'), presign: { expirySeconds: 60 } });
  await objects.put('models/1/model.onnx', new Uint8Array([1, 2, 3]));
  const presigner = objects.presigner!;
  const start = Date.now();
  const first = await presigner.getUrl('models/1/model.onnx', start);
  // SigV4 dates are to the second: from here on, a new signature is a different URL.
  await new Promise((r) => setTimeout(r, 1_100));
  // A fleet installing at once shares it…
  expect(await presigner.getUrl('models/1/model.onnx', start + 29_000)).toBe(first);
  expect(new Uint8Array(await (await fetch(first)).arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]));
  // …other objects get their own, and past half its lifetime a fresh one is signed.
  await objects.put('models/2/model.onnx', new Uint8Array([4]));
  expect(await presigner.getUrl('models/2/model.onnx', start)).not.toBe(first);
  expect(await presigner.getUrl('models/1/model.onnx', start + 31_000)).not.toBe(first);
});
