/**
 * The labelling queue's order: margin first, class turns, and no batch of near-copies; with frame
 * embeddings, near-copies by the model's features are not spent in one batch and typical frames
 * come before outliers, and frames without an embedding (older agents) still get ordered.
 */
import { compactEmbedding, createRng, type LabelledSample } from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import {
  certainty,
  DEFAULT_QUEUE_ORDER,
  orderLabelQueue,
} from '../../../control-plane/src/labelling/label-queue.ts';
import { typicality } from '../../../control-plane/src/labelling/typicality.ts';

let n = 0;
type Sample = LabelledSample & { embedding?: number[] | null };
function sample(top: [string, number][], extra: Partial<Sample> = {}): Sample {
  n++;
  return {
    sampleId: `s${n}`,
    deviceId: 'cam-1',
    preLabel: top[0][0],
    confidence: top[0][1],
    topK: top.map(([label, confidence]) => ({ label, confidence })),
    skippedAt: null,
    ...extra,
  } as Sample;
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

const random = createRng(42);
/** A point of cluster `c` (features in 32 dims): clusters far apart, members close together. */
function features(c: number, jitter = 0.05): number[] {
  return Array.from({ length: 32 }, (_, d) => (d % 8 === c ? 1 : 0) + (random() - 0.5) * jitter);
}

describe('default queue order with frame embeddings', () => {
  it('is the density-weighted, embedding-diverse order', () => {
    expect(DEFAULT_QUEUE_ORDER).toBe('margin-density-diverse');
  });

  it('does not put near-duplicate frames in one batch, even when their top-k differ', () => {
    // Five near-copies of one scene, each torn between cat and dog (or fox): the lowest margins.
    // (Diversity works within each class's 8 most useful frames; the agent's perceptual-hash
    // filter already keeps longer bursts of one scene from being uploaded.)
    const copies = Array.from({ length: 5 }, (_, i) =>
      sample(
        [
          ['cat', 0.5],
          [i % 2 ? 'dog' : 'fox', 0.47 - i * 0.001],
        ],
        { embedding: compactEmbedding(features(0, 0.01)) },
      ),
    );
    // Three other scenes, a bit less uncertain, all predicted cat as well.
    const others = [1, 2, 3].map((c) =>
      sample(
        [
          ['cat', 0.55],
          ['dog', 0.4],
        ],
        { embedding: compactEmbedding(features(c)) },
      ),
    );
    // Each scene also appears often enough to be typical, with confident predictions.
    const context = [0, 1, 2, 3].flatMap((c) =>
      Array.from({ length: 6 }, () =>
        sample(
          [
            ['cat', 0.97],
            ['dog', 0.02],
          ],
          { embedding: compactEmbedding(features(c)) },
        ),
      ),
    );
    const batch = orderLabelQueue([...copies, ...others, ...context], 4);
    expect(batch.filter((s) => copies.includes(s))).toHaveLength(1);
    expect(batch.filter((s) => others.includes(s))).toHaveLength(3);
    // Diversity over the top-k alone (the previous default) takes copies whose runner-up differs.
    const byTopK = orderLabelQueue([...copies, ...others, ...context], 4, 'margin-diverse-wide');
    expect(byTopK.filter((s) => copies.includes(s)).length).toBeGreaterThan(1);
  });

  it('gives each predicted class its turn', () => {
    const pool = ['cat', 'dog', 'fox'].flatMap((label, c) =>
      Array.from({ length: 8 }, (_, i) =>
        sample(
          [
            [label, 0.5 + c * 0.1 + i * 0.01],
            ['other', 0.3],
          ],
          { embedding: compactEmbedding(features(c + i)) },
        ),
      ),
    );
    const batch = orderLabelQueue(pool, 6);
    const perClass = new Map<string, number>();
    for (const s of batch) perClass.set(s.preLabel!, (perClass.get(s.preLabel!) ?? 0) + 1);
    expect([...perClass.values()]).toEqual([2, 2, 2]);
  });

  it('takes a torn frame from a crowded scene before an equally torn outlier', () => {
    const crowd = Array.from({ length: 25 }, () =>
      sample(
        [
          ['cat', 0.9],
          ['dog', 0.05],
        ],
        { embedding: compactEmbedding(features(1)) },
      ),
    );
    const torn = [['cat', 0.5] as [string, number], ['dog', 0.45] as [string, number]];
    const outlier = sample(torn, {
      embedding: compactEmbedding(features(6).map((v, d) => (d % 3 === 0 ? -v : v))),
    });
    const typical = sample(torn, { embedding: compactEmbedding(features(1)) });
    expect(orderLabelQueue([outlier, ...crowd, typical], 1)[0]).toBe(typical);
  });

  it('still orders frames without an embedding (top-k diversity), and mixes both kinds', () => {
    const plain = [0.1, 0.3, 0.05].map((gap) =>
      sample(
        [
          ['cat', 0.5],
          ['dog', 0.5 - gap],
        ],
        { embedding: null },
      ),
    );
    const order = orderLabelQueue(plain, 3);
    expect(order[0]).toBe(plain[2]); // the smallest margin
    expect(new Set(order)).toEqual(new Set(plain));
    const mixed = [
      ...plain,
      sample(
        [
          ['cat', 0.51],
          ['dog', 0.49],
        ],
        { embedding: compactEmbedding(features(2)) },
      ),
    ];
    expect(orderLabelQueue(mixed, 4)).toHaveLength(4);
    expect(typicality(plain)).toEqual([1, 1, 1]);
  });
});

describe('what a labeller sees in one batch', () => {
  /** A scene's frame: near-copies of one scene share `c`, with a little sensor noise. */
  const frame = (label: string, c: number, gap: number, jitter = 0.01) =>
    sample(
      [
        [label, 0.5],
        [label === 'cat' ? 'dog' : 'cat', 0.5 - gap],
      ],
      { embedding: compactEmbedding(features(c, jitter)) },
    );

  it('does not fill a batch with a burst of one scene, even when the burst is the most uncertain', () => {
    // Per predicted class: a burst of 12 near-copies of its most uncertain scene, then 4 other
    // scenes a little less uncertain.
    const bursts = new Map(
      ['cat', 'dog'].map((label, k) => [
        label,
        Array.from({ length: 12 }, (_, i) => frame(label, k, 0.01 + i * 0.001)),
      ]),
    );
    const others = ['cat', 'dog'].flatMap((label, k) =>
      [2, 3, 4, 5].map((c) => frame(label, c + k * 2, 0.05 + c * 0.001, 0.05)),
    );
    const pool = [...bursts.values()].flat().concat(others);
    const batch = orderLabelQueue(pool, 8);
    expect(batch).toHaveLength(8);
    // One frame of each burst; the rest of the batch goes to the other scenes.
    for (const burst of bursts.values()) expect(batch.filter((s) => burst.includes(s))).toHaveLength(1);
    // Equal turns: four frames per predicted class.
    expect(batch.filter((s) => s.preLabel === 'cat')).toHaveLength(4);
    // Once every other frame is queued, the burst's other copies still come (last).
    expect(orderLabelQueue(pool, pool.length)).toHaveLength(pool.length);
  });

  it('does not offer again a scene labelled in an earlier batch while other scenes wait', () => {
    // The most uncertain frames are new frames of scene 0, which someone labelled yesterday.
    const again = [0.01, 0.012, 0.014].map((gap) => frame('cat', 0, gap));
    const fresh = [3, 4].map((c) => frame('cat', c, 0.05, 0.05));
    const pool = [...again, ...fresh];
    const labelledYesterday = [compactEmbedding(features(0, 0.01))];
    expect(orderLabelQueue(pool, 1)[0]).toBe(again[0]);
    const batch = orderLabelQueue(pool, 2, DEFAULT_QUEUE_ORDER, labelledYesterday);
    expect(batch.every((s) => fresh.includes(s))).toBe(true);
    // Once nothing else is left, the scene comes back (it may still be worth a second label).
    expect(orderLabelQueue(pool, 5, DEFAULT_QUEUE_ORDER, labelledYesterday).slice(2)).toEqual(
      expect.arrayContaining(again),
    );
  });

  it('spends a batch on scenes unlike those already labelled, before ones beside them', () => {
    // Eight scenes; 0-3 are a little more torn, but each lies beside a labelled frame (close, not
    // a near-copy).
    const pool = Array.from({ length: 8 }, (_, c) => frame('cat', c, c < 4 ? 0.01 : 0.03, 0.01));
    const labelled = [0, 1, 2, 3].map((c) => compactEmbedding(features(c, 0.6)));
    const scene = (s: Sample) => pool.indexOf(s);
    // Without what is labelled, the most torn scene goes first.
    expect(orderLabelQueue(pool, 4)[0]).toBe(pool[0]);
    const batch = orderLabelQueue(pool, 4, DEFAULT_QUEUE_ORDER, labelled);
    expect(batch.map(scene).sort()).toEqual([4, 5, 6, 7]);
  });

  it('gives the same queue for the same frames, in whatever order the store returns them', () => {
    const pool = ['cat', 'dog', 'fox'].flatMap((label, k) =>
      Array.from({ length: 10 }, (_, i) =>
        sample(
          [
            [label, 0.5 + i * 0.03],
            ['other', 0.3 - k * 0.01 - i * 0.005],
          ],
          { embedding: compactEmbedding(features((k * 3 + i) % 8, 0.3)) },
        ),
      ),
    );
    const shuffled = [...pool].reverse();
    const ids = (q: Sample[]) => q.map((s) => s.sampleId);
    expect(ids(orderLabelQueue(shuffled, 12))).toEqual(ids(orderLabelQueue(pool, 12)));
    expect(ids(orderLabelQueue(pool, 12))).toEqual(ids(orderLabelQueue(pool, 12)));
  });
});
