/**
 * Model files are streamed: a Range request on a file bigger than Node could even read into one
 * buffer (3 GiB, sparse on disk) answers 206 with the right bytes, and the control plane's memory
 * grows by far less than the file.
 */
import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelFileKey } from '../../../../control-plane/src/models/model-registry.ts';
import { testManifest } from '../../../helpers/manifest-fixture.ts';
import { startTestControlPlane, type TestControlPlane } from '../helpers.ts';

let t: TestControlPlane;
beforeAll(async () => {
  t = await startTestControlPlane();
});
afterAll(async () => {
  await t.stop();
});

const BIG = 3 * 1024 * 1024 * 1024;
const MARK_AT = BIG - 1024 * 1024;
const MARK = Buffer.from('edgeloop-range-mark');

describe('model files by range', () => {
  it('serves a byte range of a 3 GiB model file without reading the file', async () => {
    const bytes = new Uint8Array(randomBytes(4096));
    const manifest = testManifest(
      bytes,
      {
        name: 'big',
        modelVersion: 1,
        architecture: { family: 'mobilenet-v2', alpha: 0.35, inputSize: 96, quantization: 'int8' },
        labels: ['a', 'b'],
        output: { name: 'probs', kind: 'probabilities' },
      },
      96,
    );
    const form = new FormData();
    form.set('manifest', JSON.stringify(manifest));
    form.set('model.onnx', new Blob([bytes]), 'model.onnx');
    expect((await t.api('/models', { method: 'POST', body: form, admin: true })).status).toBe(201);

    // Grow the stored file to 3 GiB in place: sparse, so it costs no disk, only a mark near the end.
    const path = join(t.dataDir, 'objects', ...modelFileKey(1, 'model.onnx').split('/'));
    const file = await open(path, 'r+');
    await file.truncate(BIG);
    await file.write(MARK, 0, MARK.length, MARK_AT);
    await file.close();

    const before = process.memoryUsage().rss;
    const res = await t.api('/models/1/files/model.onnx', {
      admin: true,
      headers: { range: `bytes=${MARK_AT - 4}-${MARK_AT + MARK.length + 3}` },
    });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes ${MARK_AT - 4}-${MARK_AT + MARK.length + 3}/${BIG}`);
    const got = Buffer.from(await res.arrayBuffer());
    expect(got).toEqual(Buffer.concat([Buffer.alloc(4), MARK, Buffer.alloc(4)]));

    // The whole file, streamed to nowhere: the server's memory never holds it.
    const whole = await t.api('/models/1/files/model.onnx', { admin: true });
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-length')).toBe(String(BIG));
    const reader = whole.body!.getReader();
    let seen = 0;
    let peak = 0;
    while (seen < 256 * 1024 * 1024) {
      const { done, value } = await reader.read();
      if (done) break;
      seen += value.byteLength;
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    await reader.cancel();
    expect(seen).toBeGreaterThanOrEqual(256 * 1024 * 1024);
    // Same process (server and client): growth is buffers in flight, not the 3 GiB file.
    expect(peak - before).toBeLessThan(400 * 1024 * 1024);
  });
});
