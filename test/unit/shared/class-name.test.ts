import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  ClassNameSchema,
  ClassScoreSchema,
  LabelsSchema,
  ManifestSchema,
  safeJoin,
  UnsafePathError,
} from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';

const HOSTILE = [
  '../../etc',
  '..',
  '.',
  '.hidden',
  'a/b',
  'a\\b',
  '/etc/passwd',
  'C:\\Windows',
  'nul\0byte',
  'trailing.',
  'trailing ',
  ' leading',
  'x'.repeat(65),
  'bidi\u202Eevil',
  'line\nbreak',
  'cafe\u0301', // NFD: the same name as NFC "café" on some file systems
  '',
];

describe('class names (one rule at every entry point)', () => {
  it('accepts everyday names in any script', () => {
    for (const name of [
      'cat',
      'red car',
      'jack-o-lantern',
      "o'clock",
      'café',
      '犬',
      'ship (big)',
      'v1.2',
      'x'.repeat(64),
    ]) {
      expect(ClassNameSchema.safeParse(name).success, name).toBe(true);
    }
  });

  it('refuses names that could become another path, hide, or spoof', () => {
    for (const name of HOSTILE)
      expect(ClassNameSchema.safeParse(name).success, JSON.stringify(name)).toBe(false);
  });

  it('is the rule of predictions, labels.json and manifests too', () => {
    expect(ClassScoreSchema.safeParse({ label: '../../etc', confidence: 0.5 }).success).toBe(false);
    expect(LabelsSchema.safeParse(['cat', '../../etc']).success).toBe(false);
    const manifest = ManifestSchema.shape.labels;
    expect(manifest.safeParse(['cat', 'a/b']).success).toBe(false);
    expect(manifest.safeParse(['cat', 'dog']).success).toBe(true);
  });
});

describe('safeJoin (every export path)', () => {
  const root = mkdtempSync(join(tmpdir(), 'edgeloop-safe-'));
  it('builds paths under its root', () => {
    expect(safeJoin(root, 'train', 'cat', 'a.png')).toBe(resolve(root, 'train', 'cat', 'a.png'));
  });
  it('refuses segments that leave the root or are not one name', () => {
    for (const segment of ['..', '.', '', 'a/../../b', '../../etc', 'a\\b', 'x\0y', '/abs']) {
      expect(() => safeJoin(root, 'train', segment), segment).toThrow(UnsafePathError);
    }
  });
  rmSync(root, { recursive: true, force: true });
});
