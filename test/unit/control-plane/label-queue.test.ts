/**
 * The labelling queue's order: margin first, class turns, and no batch of near-copies.
 */
import type { LabelledSample } from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import { certainty, orderLabelQueue } from '../../../control-plane/src/labelling/label-queue.ts';

let n = 0;
function sample(top: [string, number][], extra: Partial<LabelledSample> = {}): LabelledSample {
  n++;
  return {
    sampleId: `s${n}`,
    deviceId: 'cam-1',
    preLabel: top[0][0],
    confidence: top[0][1],
    topK: top.map(([label, confidence]) => ({ label, confidence })),
    skippedAt: null,
    ...extra,
  } as LabelledSample;
}

describe('label queue order', () => {
  it('ranks a frame torn between two classes before one that is merely unsure', () => {
    // Top-1 0.45 but the rest spread thin, versus top-1 0.5 with the runner-up at 0.48.
    const spread = sample([
      ['cat', 0.45],
      ['dog', 0.1],
      ['fox', 0.1],
    ]);
    const torn = sample([
      ['cat', 0.5],
      ['dog', 0.48],
      ['fox', 0.01],
    ]);
    expect(certainty(torn, 'margin')).toBeLessThan(certainty(spread, 'margin'));
    expect(orderLabelQueue([spread, torn], 1, 'margin')[0]).toBe(torn);
    expect(orderLabelQueue([spread, torn], 1, 'least-confident')[0]).toBe(spread);
    expect(orderLabelQueue([spread, torn], 1)[0]).toBe(torn);
  });

  it('gives each predicted class its turn instead of filling the queue with one', () => {
    const cats = Array.from({ length: 6 }, (_, i) =>
      sample([
        ['cat', 0.5],
        ['dog', 0.45 - i * 0.01],
      ]),
    );
    const dog = sample([
      ['dog', 0.7],
      ['cat', 0.2],
    ]);
    const queue = orderLabelQueue([...cats, dog], 3);
    expect(queue.map((s) => s.preLabel)).toContain('dog');
  });

  it('does not spend a batch on near-copies when a different uncertain frame is on offer', () => {
    const copies = Array.from({ length: 3 }, () =>
      sample([
        ['cat', 0.5],
        ['dog', 0.48],
        ['fox', 0.02],
      ]),
    );
    const different = sample([
      ['cat', 0.52],
      ['fox', 0.46],
      ['dog', 0.02],
    ]);
    const queue = orderLabelQueue([...copies, different], 2);
    expect(queue).toHaveLength(2);
    expect(queue).toContain(different);
    // Plain margin order would take the two copies first.
    expect(orderLabelQueue([...copies, different], 2, 'margin')).not.toContain(different);
  });

  it('puts skipped frames last, oldest skip first', () => {
    const skippedLate = sample([['cat', 0.1]], { skippedAt: '2026-12-02T00:00:00Z' });
    const skippedEarly = sample([['cat', 0.2]], { skippedAt: '2026-12-01T00:00:00Z' });
    const fresh = sample([
      ['cat', 0.99],
      ['dog', 0.01],
    ]);
    expect(orderLabelQueue([skippedLate, skippedEarly, fresh], 3)).toEqual([
      fresh,
      skippedEarly,
      skippedLate,
    ]);
  });
});
