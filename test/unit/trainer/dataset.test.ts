import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDataset } from '../../../trainer/src/data/dataset.ts';
import { encodeRaw } from '../../../trainer/src/data/image-decoder.ts';

let root: string;
const png = (value: number) =>
  encodeRaw({ width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(value) }, 'png');

async function put(path: string, bytes: Uint8Array | string): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, bytes);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'edgeloop-dataset-'));
  const ds = join(root, 'ds');
  for (let i = 0; i < 4; i++) {
    await put(join(ds, 'train', 'cat', `${i}.png`), await png(10 + i));
    await put(join(ds, 'train', 'dog', `${i}.png`), await png(100 + i));
  }
  await put(join(ds, 'validation', 'cat', 'v.png'), await png(50));
  await put(join(ds, 'validation', 'dog', 'v.png'), await png(150));
  // The same bytes in train and validation: kept once, on the validation side.
  await put(join(ds, 'train', 'dog', 'copy.png'), await png(150));
  await put(join(ds, 'train', 'cat', 'notes.txt'), 'not an image');
  const samples = join(root, 'samples');
  await put(join(samples, 'cat', 'smp-1.jpg'), await png(200));
  await put(join(samples, 'cat', 'smp-2.jpg'), await png(10)); // same bytes as a studio image
  await put(join(samples, 'bird', 'smp-3.jpg'), await png(220));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('readDataset', () => {
  it('reads train/validation class folders, skips non-images and keeps identical images once', async () => {
    const ds = await readDataset(join(root, 'ds'));
    expect(ds.labels).toEqual(['cat', 'dog']);
    expect(ds.train).toHaveLength(8);
    expect(ds.validation).toHaveLength(2);
    expect(ds.duplicates).toBe(1);
    expect(ds.train.some((i) => i.path.endsWith('copy.png'))).toBe(false);
    expect(ds.skipped.map((s) => s.reason)).toEqual(['not an image file (extension)']);
  });

  it('adds field samples to training only, named by sample id, and only for known classes', async () => {
    const ds = await readDataset(join(root, 'ds'), { extraTrain: [join(root, 'samples')] });
    const field = ds.train.filter((i) => i.source === 'field-sample');
    expect(field.map((i) => i.sampleId)).toEqual(['smp-1']);
    expect(ds.labels).toEqual(['cat', 'dog']);
    expect(ds.duplicates).toBe(2);
    expect(ds.skipped.some((s) => s.path.endsWith('smp-3.jpg') && /class 'bird'/.test(s.reason))).toBe(true);
    expect(ds.validation.every((i) => i.source === 'dataset')).toBe(true);
  });

  it('rejects a folder without two classes with a clear error', async () => {
    await expect(readDataset(join(root, 'nope'))).rejects.toThrow(/dataset folder not found/);
    await expect(readDataset(join(root, 'samples', 'cat'))).rejects.toThrow(/at least 2 class folders/);
  });
});
