import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDataset } from '../../../trainer/src/data/dataset.ts';
import { encodeRaw } from '../../../trainer/src/data/image-decoder.ts';
import { decodeSplit } from '../../../trainer/src/train/decode-splits.ts';

let root: string;
const png = (value: number, side = 8) =>
  encodeRaw({ width: side, height: side, data: new Uint8Array(side * side * 3).fill(value) }, 'png');

async function put(path: string, bytes: Uint8Array | string): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, bytes);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'edgeloop-splits-'));
  // One folder of class folders: 40 cats, 20 dogs, 10 birds (imbalanced), all distinct...
  const flat = join(root, 'flat');
  const sizes: Record<string, number> = { cat: 40, dog: 20, bird: 10 };
  let v = 0;
  for (const [label, n] of Object.entries(sizes)) {
    for (let i = 0; i < n; i++) await put(join(flat, label, `${i}.png`), await png(v++));
  }
  // ...plus 5 byte-identical copies of one cat image under other names, and junk.
  for (let i = 0; i < 5; i++) await put(join(flat, 'cat', `copy-${i}.png`), await png(0));
  await put(join(flat, 'dog', 'readme.md'), 'not an image');
  await put(join(flat, 'dog', 'broken.jpg'), 'not a jpeg either');
  await put(join(root, 'few', 'cat', 'a.png'), await png(1));
  await put(join(root, 'few', 'cat', 'b.png'), await png(2));
  for (let i = 0; i < 6; i++) await put(join(root, 'few', 'dog', `${i}.png`), await png(10 + i));
  await put(join(root, 'one', 'cat', 'a.png'), await png(1));
  await mkdir(join(root, 'empty'), { recursive: true });
  await put(join(root, 'big', 'cat', 'huge.png'), await png(3, 200));
  await put(join(root, 'big', 'cat', 'small.png'), await png(4));
});
afterAll(() => rm(root, { recursive: true, force: true }));

const names = (items: { path: string }[]) => items.map((i) => i.path).sort();

describe('readDataset on one folder of classes', () => {
  it('splits 80/10/10 stratified per class, the same way for the same seed', async () => {
    const a = await readDataset(join(root, 'flat'), { seed: 7 });
    const b = await readDataset(join(root, 'flat'), { seed: 7 });
    const c = await readDataset(join(root, 'flat'), { seed: 8 });
    expect(names(a.train)).toEqual(names(b.train));
    expect(names(a.test)).toEqual(names(b.test));
    expect(names(a.validation)).not.toEqual(names(c.validation));
    const count = (items: { label: string }[], label: string) =>
      items.filter((i) => i.label === label).length;
    // 40 distinct cats (the copies are one of them), 21 dogs (broken.jpg is found only when
    // decoded), 10 birds.
    expect([count(a.validation, 'cat'), count(a.validation, 'dog'), count(a.validation, 'bird')]).toEqual([
      4, 2, 1,
    ]);
    expect([count(a.test, 'cat'), count(a.test, 'dog'), count(a.test, 'bird')]).toEqual([4, 2, 1]);
    expect([count(a.train, 'cat'), count(a.train, 'dog'), count(a.train, 'bird')]).toEqual([32, 17, 8]);
  });

  it('keeps identical images once, so one can never be on both sides of a split', async () => {
    const ds = await readDataset(join(root, 'flat'), { seed: 3 });
    expect(ds.duplicates).toBe(5);
    expect(ds.duplicateFiles.map((d) => d.sameAs)).toEqual(
      new Array(5).fill(join(root, 'flat', 'cat', '0.png')),
    );
    const hashes = [...ds.train, ...ds.validation, ...ds.test].map((i) => i.sha256);
    expect(new Set(hashes).size).toBe(hashes.length);
  });

  it('lists non-images and undecodable files as skipped instead of failing', async () => {
    const ds = await readDataset(join(root, 'flat'), { seed: 3 });
    expect(ds.skipped).toEqual([
      { path: join(root, 'flat', 'dog', 'readme.md'), reason: 'not an image file (extension)' },
    ]);
    const all = [...ds.train, ...ds.validation, ...ds.test].filter((i) => i.label === 'dog');
    const skipped: { path: string; reason: string }[] = [];
    const decoded = await decodeSplit(all, ds.labels, 16, skipped);
    expect(decoded.images).toHaveLength(all.length - 1);
    expect(skipped).toHaveLength(1);
    expect(skipped[0].path).toBe(join(root, 'flat', 'dog', 'broken.jpg'));
    expect(skipped[0].reason).toMatch(/^unreadable image/);
  });

  it('skips images above the pixel limit before decoding them', async () => {
    const ds = await readDataset(join(root, 'big'), { seed: 1 }).catch((e: Error) => e);
    expect(ds).toBeInstanceOf(Error); // one class only: see below; decode the files directly
    const items = [
      {
        path: join(root, 'big', 'cat', 'huge.png'),
        label: 'cat',
        sha256: 'a',
        source: 'dataset' as const,
        sampleId: null,
      },
      {
        path: join(root, 'big', 'cat', 'small.png'),
        label: 'cat',
        sha256: 'b',
        source: 'dataset' as const,
        sampleId: null,
      },
    ];
    const skipped: { path: string; reason: string }[] = [];
    const decoded = await decodeSplit(items, ['cat'], 8, skipped, 100 * 100);
    expect(decoded.items.map((i) => i.sha256)).toEqual(['b']);
    expect(skipped).toEqual([{ path: items[0].path, reason: 'larger than the pixel limit (10000 pixels)' }]);
  });
});

describe('readDataset errors', () => {
  it('names classes with too few images and how many are needed', async () => {
    await expect(readDataset(join(root, 'few'))).rejects.toThrow(
      /class 'cat' \(2\) has too few images; each class needs at least 5/,
    );
  });

  it('rejects empty and single-class folders', async () => {
    await expect(readDataset(join(root, 'empty'))).rejects.toMatchObject({ code: 'DATASET_INVALID' });
    await expect(readDataset(join(root, 'one'))).rejects.toThrow(/at least 2 class folders.*found 1 \(cat\)/);
  });
});
