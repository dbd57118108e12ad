/** The on-disk half of installs: slots, pointer, smoke test and field-confidence statistics. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deviceFiles, generateSigningKey, sha256Hex, signManifest } from '@edgeloop/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfidenceStats } from '../../../agent/src/model/confidence-stats.ts';
import { ModelStore } from '../../../agent/src/model/model-store.ts';
import { checkDistribution } from '../../../agent/src/model/smoke-test.ts';
import { testManifest } from '../../helpers/manifest-fixture.ts';

const key = generateSigningKey();
const keys = [{ keyId: key.keyId, publicKeyPem: key.publicKeyPem }];
const bytes = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);

describe('ModelStore slots', () => {
  let dir: string;
  let store: ModelStore;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'edgeloop-slots-'));
    store = new ModelStore(dir);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('offers a slot only once every file is verified and its manifest committed', async () => {
    const manifest = signManifest(testManifest(bytes, { modelVersion: 3 }), key);
    const slotDir = await store.beginDownload('b', manifest);
    await writeFile(join(slotDir, 'model.onnx'), bytes.subarray(0, 4)); // an interrupted download
    expect(await store.readSlot('b', keys, true)).toBeNull();
    await expect(store.commitSlot('b', manifest)).rejects.toMatchObject({ code: 'CHECKSUM_MISMATCH' });
    await writeFile(join(slotDir, 'model.onnx'), bytes);
    await store.commitSlot('b', manifest);
    expect((await store.readSlot('b', keys, true))?.modelVersion).toBe(3);
    expect(await store.slotHolds('b', manifest, keys)).toBe(true);

    // A corrupted file or a foreign signature makes the slot unusable again.
    await writeFile(join(slotDir, 'model.onnx'), new Uint8Array([9, 9, 9, 9, 9, 9, 9, 9]));
    expect(await store.readSlot('b', keys, true)).toBeNull();
    expect(await store.readSlot('b', [{ keyId: 'other', publicKeyPem: key.publicKeyPem }], false)).toBeNull();
  });

  it('takes both variants of a quantized model; one missing or corrupt leaves the other serving', async () => {
    const base = testManifest(bytes, { modelVersion: 4 });
    const fp32 = new Uint8Array(64).fill(3);
    const reference = {
      name: 'model.fp32.onnx',
      role: 'reference-model' as const,
      sha256: sha256Hex(fp32),
      bytes: fp32.length,
    };
    const manifest = signManifest(
      {
        ...base,
        architecture: { family: 'tiny-test', quantization: 'int8' },
        files: [...base.files, reference],
      },
      key,
    );
    expect(deviceFiles(manifest).map((f) => f.name)).toEqual(['model.onnx', 'model.fp32.onnx']);
    // A float-only manifest's reference model (there is no int8 to compare it with) stays behind.
    const floatOnly = signManifest({ ...base, files: [...base.files, reference] }, key);
    expect(deviceFiles(floatOnly).map((f) => f.name)).toEqual(['model.onnx']);

    const slotDir = await store.beginDownload('a', manifest);
    await writeFile(join(slotDir, 'model.onnx'), bytes);
    await writeFile(join(slotDir, 'model.fp32.onnx'), fp32);
    await store.commitSlot('a', manifest);
    expect(await store.variantsPresent('a', manifest)).toEqual(['int8', 'fp32']);

    // A corrupt fp32 file is removed at the next check; the slot still serves int8.
    await writeFile(join(slotDir, 'model.fp32.onnx'), new Uint8Array(64).fill(4));
    expect(await store.slotHolds('a', manifest, keys)).toBe(true);
    expect(await store.variantsPresent('a', manifest)).toEqual(['int8']);
    // With no variant left, it is not.
    await writeFile(join(slotDir, 'model.onnx'), new Uint8Array(8).fill(9));
    expect(await store.readSlot('a', keys, true)).toBeNull();
  });

  it('keeps a partial download of the same target for a resume and drops one of another', async () => {
    const v3 = signManifest(testManifest(bytes, { modelVersion: 3 }), key);
    const v4 = signManifest(testManifest(new Uint8Array([7, 7]), { modelVersion: 4 }), key);
    const slotDir = await store.beginDownload('a', v3);
    await writeFile(join(slotDir, 'model.onnx'), bytes.subarray(0, 4));
    await store.beginDownload('a', v3);
    expect((await readFile(join(slotDir, 'model.onnx'))).length).toBe(4);
    await store.beginDownload('a', v4);
    await expect(readFile(join(slotDir, 'model.onnx'))).rejects.toThrow();
  });

  it('writes the pointer atomically and keeps the highest version ever activated', async () => {
    expect(await store.readPointer()).toBeNull();
    await store.writePointer('a', 5, 0);
    await store.writePointer('b', 2, 5); // a rollback
    expect(await store.readPointer()).toMatchObject({ slot: 'b', modelVersion: 2, highestVersion: 5 });
    await writeFile(join(dir, 'active.json'), '{"protocol":1,"slot":"c"');
    expect(await store.readPointer()).toBeNull(); // unreadable: start-up scans the slots instead
  });
});

describe('smoke test output check', () => {
  const manifest = signManifest(testManifest(bytes), key);
  it('accepts a distribution and refuses NaN, wrong class counts and non-probabilities', () => {
    expect(() => checkDistribution(new Float32Array([0.7, 0.3]), manifest, 'x')).not.toThrow();
    for (const bad of [
      [Number.NaN, 1],
      [0.5, 0.3, 0.2],
      [3.1, -2],
    ]) {
      expect(() => checkDistribution(new Float32Array(bad), manifest, 'x')).toThrow(/smoke test failed/);
    }
    const logits = { ...manifest, output: { ...manifest.output, kind: 'logits' as const } };
    expect(() => checkDistribution(new Float32Array([3.1, -2]), logits, 'x')).not.toThrow();
  });
});

describe('ConfidenceStats', () => {
  it('summarises each version over its recent window', () => {
    const s = new ConfidenceStats(0.6, 4, 2);
    for (const c of [0.9, 0.9, 0.5, 0.9, 0.9]) s.record(1, c);
    s.record(2, 0.4);
    s.record(3, 0.8);
    const [v2, v3] = s.summary();
    expect(s.summary().map((x) => x.modelVersion)).toEqual([2, 3]); // only the last two versions
    expect(v2).toMatchObject({ predictions: 1, meanConfidence: 0.4, lowConfidenceRate: 1 });
    expect(v3).toMatchObject({ predictions: 1, lowConfidenceRate: 0 });
    const w = new ConfidenceStats(0.6, 4);
    for (const c of [0.1, 0.9, 0.9, 0.9, 0.9]) w.record(1, c);
    expect(w.summary()[0]).toMatchObject({ predictions: 4, meanConfidence: 0.9, lowConfidenceRate: 0 });
  });
});
