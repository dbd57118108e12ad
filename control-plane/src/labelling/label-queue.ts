/**
 * Orders the labelling queue by usefulness (pure). The device was least sure about the first
 * frames, so they teach the model most; but a queue of the 50 least confident frames is often one
 * noisy camera or one confusing class. So frames are grouped by (device, predicted class) and the
 * groups are interleaved round-robin, each round visiting groups by their least confident frame.
 * Frames someone skipped come after every frame nobody has looked at yet.
 */
import type { LabelledSample } from '@edgeloop/shared';

function interleave<T extends LabelledSample>(items: readonly T[]): T[] {
  const groups = new Map<string, T[]>();
  for (const item of [...items].sort((a, b) => a.confidence - b.confidence)) {
    const key = `${item.deviceId}\u0000${item.preLabel ?? ''}`;
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  const out: T[] = [];
  let queues = [...groups.values()];
  while (queues.length > 0) {
    // Least confident head first within each round; Map order breaks ties deterministically.
    queues.sort((a, b) => a[0].confidence - b[0].confidence);
    for (const q of queues) out.push(q.shift()!);
    queues = queues.filter((q) => q.length > 0);
  }
  return out;
}

export function orderLabelQueue<T extends LabelledSample>(pool: readonly T[], limit: number): T[] {
  const fresh = pool.filter((s) => s.skippedAt === null);
  const skipped = pool
    .filter((s) => s.skippedAt !== null)
    .sort((a, b) => (a.skippedAt! < b.skippedAt! ? -1 : a.skippedAt! > b.skippedAt! ? 1 : 0));
  return [...interleave(fresh), ...skipped].slice(0, limit);
}
