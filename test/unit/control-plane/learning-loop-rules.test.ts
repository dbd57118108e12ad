/** The learning loop's pure rules: field-hard split, version ids, promotion edge cases. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  datasetVersionId,
  FIELD_HARD_SHARE,
  isFieldHard,
} from '../../../control-plane/src/datasets/dataset-versions.ts';
import { judgePromotion } from '../../../control-plane/src/models/model-comparison.ts';
import type { ModelVersionRecord } from '../../../control-plane/src/store/store.ts';

const sha = (i: number) => createHash('sha256').update(String(i)).digest('hex');

function model(version: number, recalls: Record<string, number>): ModelVersionRecord {
  const labels = Object.keys(recalls);
  return {
    modelVersion: version,
    name: 'm',
    manifest: { labels } as ModelVersionRecord['manifest'],
    metrics: {
      valAccuracy: labels.reduce((s, l) => s + recalls[l], 0) / labels.length,
      perClass: labels.map((label) => ({ label, support: 10, precision: 1, recall: recalls[label] })),
      confusion: labels.map(() => labels.map(() => 0)),
    },
    createdAt: '',
    publishedAt: '',
  };
}

describe('dataset versions', () => {
  it('puts about a fifth of images in field-hard, always the same ones', () => {
    const hard = Array.from({ length: 5000 }, (_, i) => isFieldHard(sha(i))).filter(Boolean).length;
    expect(hard / 5000).toBeGreaterThan(FIELD_HARD_SHARE - 0.03);
    expect(hard / 5000).toBeLessThan(FIELD_HARD_SHARE + 0.03);
    expect(isFieldHard(sha(7))).toBe(isFieldHard(sha(7)));
  });

  it('names a version by its content, whatever the order of its entries', () => {
    const a = { split: 'train', sha256: sha(1), label: 'cat' };
    const b = { split: 'validation', sha256: sha(2), label: 'dog' };
    expect(datasetVersionId([a, b])).toBe(datasetVersionId([b, a]));
    expect(datasetVersionId([a, b])).not.toBe(datasetVersionId([a, { ...b, label: 'cat' }]));
  });
});

describe('promotion rule', () => {
  const rule = { margin: 0.01, tolerance: 0.05 };

  it('refuses a candidate that dropped one of production’s classes', () => {
    const verdict = judgePromotion(
      model(2, { cat: 1, dog: 1 }),
      model(1, { cat: 0.5, dog: 0.5, fox: 0.5 }),
      rule,
    );
    expect(verdict.promoted).toBe(false);
    expect(verdict.reason).toMatch(/fox missing/);
  });

  it('does not re-promote production and accepts a tolerated dip on one class', () => {
    const prod = model(1, { cat: 0.8, dog: 0.8 });
    expect(judgePromotion(prod, prod, rule).reason).toMatch(/already production/);
    expect(judgePromotion(model(2, { cat: 0.96, dog: 0.76 }), prod, rule).promoted).toBe(true);
  });
});
