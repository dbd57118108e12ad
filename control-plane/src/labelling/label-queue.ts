/**
 * Orders the labelling queue by usefulness (pure). Ideas from the active-learning literature on
 * small labelling budgets, each measured by `bench active-learning` (docs/benchmarks.md):
 *
 * - uncertainty: frames the model was least sure about teach it most. `margin` (top-1 minus top-2
 *   confidence) ranks a frame torn between two classes first, which least-confident and entropy
 *   miss when the rest of the probability mass is spread thin;
 * - density (`margin-density-diverse`, the default): margin weighted by how typical the frame's
 *   embedding is among the candidates (typicality.ts), so early batches do not go to torn outliers;
 * - class balance: frames are grouped by (device, predicted class) and the groups take turns, so a
 *   queue is not 50 frames of one confusing class or one noisy camera;
 * - diversity: within a group's turn, of its 8 most useful frames the one farthest from everything
 *   already queued goes first (greedy k-center), so one batch is not 20 near-copies. Distance is
 *   over the frame embeddings devices send (`margin-diverse-embed` and the default), else over the
 *   top-k probabilities (`margin-diverse-wide`; `margin-diverse` looks at 3). With embeddings,
 *   near-copies of a frame already queued (a burst of one scene) leave the shortlist until nothing
 *   else is left, so a burst cannot fill the 8 places diversity chooses from. Frames already
 *   labelled count as picked (core-set style): the farthest-first choice starts from them, and a
 *   near-copy of a labelled frame waits like a near-copy of a queued one, so the queue does not
 *   offer again a scene someone labelled in an earlier batch.
 *
 * Without embeddings every frame is equally typical, so the default is margin-diverse-wide.
 * Each order, and the ~30 tried and not kept, is measured over 10 seeds on real photos in
 * docs/benchmarks.md#active-learning-on-real-photos: equal class turns and a mild density weight
 * are what the gain rests on.
 *
 * Frames someone skipped come after every frame nobody has looked at yet.
 */
import { embeddingDistance, type LabelledSample, normalizedEntropy } from '@edgeloop/shared';
import { typicality } from './typicality.ts';

export const QUEUE_ORDERS = [
  'least-confident',
  'margin',
  'entropy',
  'margin-diverse',
  'margin-diverse-wide',
  'margin-kcenter',
  'margin-diverse-embed',
  'margin-density-diverse',
] as const;
export type QueueOrder = (typeof QUEUE_ORDERS)[number];
/** The best order measured by `bench active-learning` (labelSavings over 10 seeds). */
export const DEFAULT_QUEUE_ORDER: QueueOrder = 'margin-density-diverse';

type Scored = Pick<LabelledSample, 'deviceId' | 'preLabel' | 'confidence' | 'topK'> & {
  /** The frame embedding the device sent (shared/frame-embedding.ts); absent for older agents. */
  embedding?: readonly number[] | null;
};

/** How sure the model was (lower = more useful to label), by the chosen order. */
export function certainty(s: Scored, order: QueueOrder): number {
  const top = s.topK;
  if (order === 'least-confident' || top.length === 0) return s.confidence;
  if (order === 'entropy') return 1 - normalizedEntropy(top);
  return top[0].confidence - (top[1]?.confidence ?? 0);
}

/**
 * How different two frames are: the cosine distance of their embeddings when both devices sent
 * one of the same size (the model's features: near-copies are close even when their top-k
 * differ), else the squared distance of their probability vectors.
 */
function featureDistance(a: Scored, b: Scored): number {
  if (a.embedding && b.embedding && a.embedding.length === b.embedding.length)
    return embeddingDistance(a.embedding, b.embedding);
  return distance(a, b);
}

/**
 * Cosine distance under which two frames' embeddings count as the same scene (consecutive frames
 * of one camera); distinct photos of one kind of thing are further apart (nearest neighbours of
 * the clothing photos: about 0.05 and more).
 */
const NEAR_COPY = 0.02;

function isNearCopy(a: Scored, b: Scored): boolean {
  return (
    !!a.embedding &&
    !!b.embedding &&
    a.embedding.length === b.embedding.length &&
    embeddingDistance(a.embedding, b.embedding) < NEAR_COPY
  );
}

/** Squared distance between two frames' probability vectors (labels missing from a topK count 0). */
function distance(a: Scored, b: Scored): number {
  const pa = new Map(a.topK.map((t) => [t.label, t.confidence]));
  let d = 0;
  const seen = new Set<string>();
  for (const t of b.topK) {
    const diff = (pa.get(t.label) ?? 0) - t.confidence;
    d += diff * diff;
    seen.add(t.label);
  }
  for (const [label, p] of pa) if (!seen.has(label)) d += p * p;
  return d;
}

/** Groups by (device, predicted class), each sorted by `rank` (lowest, i.e. most useful, first). */
function groupsOf<T extends Scored>(items: readonly T[], rank: (item: T) => number): T[][] {
  const groups = new Map<string, T[]>();
  const scored = items.map((item) => ({ item, c: rank(item) }));
  scored.sort((a, b) => a.c - b.c);
  for (const { item } of scored) {
    const key = `${item.deviceId}\u0000${item.preLabel ?? ''}`;
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return [...groups.values()];
}

/** Groups take turns, each round visiting them by their most uncertain frame. */
function interleave<T extends Scored>(items: readonly T[], order: QueueOrder): T[] {
  const out: T[] = [];
  let queues = groupsOf(items, (item) => certainty(item, order));
  while (queues.length > 0) {
    // Map order breaks ties deterministically.
    queues.sort((a, b) => certainty(a[0], order) - certainty(b[0], order));
    for (const q of queues) out.push(q.shift()!);
    queues = queues.filter((q) => q.length > 0);
  }
  return out;
}

/**
 * Interleaved by group as above, but each turn takes, from the group's most useful frames by
 * `rank` (`shortlist` per group), the one farthest (`dist`) from everything already picked.
 */
function diverse<T extends Scored>(
  items: readonly T[],
  limit: number,
  shortlist: number,
  dist: (a: Scored, b: Scored) => number,
  rank: (item: Scored) => number,
  labelled: readonly (readonly number[])[] = [],
): T[] {
  const out: T[] = [];
  const minDist = new Map<T, number>();
  const copies = new Set<T>();
  // Distance to the nearest labelled frame (embedding distance only: a labelled frame's top-k is
  // not comparable with the current model's).
  const fromLabelled = (item: T) => {
    let d = Number.POSITIVE_INFINITY;
    if (dist !== featureDistance || !item.embedding) return d;
    for (const e of labelled)
      if (e.length === item.embedding.length) d = Math.min(d, embeddingDistance(e, item.embedding));
    if (d < NEAR_COPY) copies.add(item);
    return d;
  };
  const pick = (item: T) => {
    out.push(item);
    for (const [other, d] of minDist) {
      minDist.set(other, Math.min(d, dist(item, other)));
      if (dist === featureDistance && isNearCopy(item, other)) copies.add(other);
    }
  };
  const ranks = new Map<T, number>(items.map((item) => [item, rank(item)]));
  let queues = groupsOf(items, (item) => ranks.get(item)!);
  for (const q of queues) for (const item of q) minDist.set(item, fromLabelled(item));
  const takeFrom = (q: T[]) => {
    // The shortlist: the group's most useful frames, less near-copies of frames already picked;
    // when those fill it, the next most useful other frame (copies wait until nothing else is
    // left), so a burst of one scene cannot fill a batch.
    const list: number[] = [];
    for (let i = 0; i < q.length && (i < shortlist || list.length === 0); i++)
      if (!copies.has(q[i])) list.push(i);
    if (list.length === 0) for (let i = 0; i < Math.min(shortlist, q.length); i++) list.push(i);
    let best = list[0];
    for (const i of list) if (minDist.get(q[i])! > minDist.get(q[best])!) best = i;
    const [item] = q.splice(best, 1);
    minDist.delete(item);
    pick(item);
  };
  while (queues.length > 0 && out.length < limit) {
    queues.sort((a, b) => ranks.get(a[0])! - ranks.get(b[0])!);
    for (const q of queues) {
      if (out.length >= limit) break;
      takeFrom(q);
    }
    queues = queues.filter((q) => q.length > 0);
  }
  return out;
}

/**
 * Uncertainty weighted by typicality, as a rank (lower first): −(1 − margin) · typicality, so a
 * frame torn between two classes that also looks like many others comes before a torn outlier.
 */
function densityWeighted(items: readonly Scored[]): (item: Scored) => number {
  const typ = typicality(items);
  const weight = new Map(items.map((item, i) => [item, Math.max(typ[i], 0)]));
  return (item) => -(1 - certainty(item, 'margin')) * (weight.get(item) ?? 1);
}

/**
 * Greedy k-center over the 3·limit lowest-margin frames, no class turns: each next frame is the
 * one farthest from those already picked (the first is the lowest margin).
 */
function kCenter<T extends Scored>(items: readonly T[], limit: number): T[] {
  const candidates = items
    .map((item) => ({ item, c: certainty(item, 'margin') }))
    .sort((a, b) => a.c - b.c)
    .slice(0, limit * 3)
    .map((x) => x.item);
  const out: T[] = [];
  const minDist = candidates.map(() => Number.POSITIVE_INFINITY);
  const used = new Set<number>();
  while (out.length < Math.min(limit, candidates.length)) {
    let best = -1;
    for (let i = 0; i < candidates.length; i++) {
      if (used.has(i)) continue;
      if (best < 0 || minDist[i] > minDist[best]) best = i;
    }
    used.add(best);
    out.push(candidates[best]);
    for (let i = 0; i < candidates.length; i++)
      if (!used.has(i)) minDist[i] = Math.min(minDist[i], distance(candidates[best], candidates[i]));
  }
  return out;
}

/**
 * The first `limit` frames of `pool` to label, by `order`. `labelled` holds the embeddings of
 * frames already labelled (most recent first, bounded by the caller); the default order keeps its
 * picks away from them (margin-diverse-embed, kept for comparison, does not: with it the same
 * start measured 0.45 instead of 0.49).
 */
export function orderLabelQueue<T extends LabelledSample & { embedding?: readonly number[] | null }>(
  pool: readonly T[],
  limit: number,
  order: QueueOrder = DEFAULT_QUEUE_ORDER,
  labelled: readonly (readonly number[])[] = [],
): T[] {
  const fresh = pool.filter((s) => s.skippedAt === null);
  const skipped = pool
    .filter((s) => s.skippedAt !== null)
    .sort((a, b) => (a.skippedAt! < b.skippedAt! ? -1 : a.skippedAt! > b.skippedAt! ? 1 : 0));
  const byMargin = (item: Scored) => certainty(item, 'margin');
  const ordered =
    order === 'margin-diverse'
      ? diverse(fresh, limit, 3, distance, byMargin)
      : order === 'margin-diverse-wide'
        ? diverse(fresh, limit, 8, distance, byMargin)
        : order === 'margin-diverse-embed'
          ? diverse(fresh, limit, 8, featureDistance, byMargin)
          : order === 'margin-density-diverse'
            ? diverse(fresh, limit, 8, featureDistance, densityWeighted(fresh), labelled)
            : order === 'margin-kcenter'
              ? kCenter(fresh, limit)
              : interleave(fresh, order);
  return [...ordered, ...skipped].slice(0, limit);
}
