import { createHash } from 'node:crypto';
import {
  parseSyntheticFrameId,
  SYNTHETIC_CLASSES,
  syntheticFrameId,
  syntheticFrameLabel,
  syntheticLabel,
  syntheticScene,
} from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';

const opts = { width: 40, height: 30, difficulty: 0.5 };
const hash = (d: Uint8Array) => createHash('sha256').update(d).digest('hex');

describe('synthetic scenes', () => {
  it('are deterministic and recover their class from the frame id', () => {
    const a = syntheticScene(7, 3, opts);
    expect(hash(syntheticScene(7, 3, opts).data)).toBe(hash(a.data));
    const origin = parseSyntheticFrameId(syntheticFrameId(7, 3))!;
    expect(syntheticLabel(origin.seed, origin.index)).toBe(a.label);
    expect(syntheticFrameLabel(syntheticFrameId(7, 3))).toBe(a.label);
    expect(syntheticFrameLabel('door-cam-0001.jpg')).toBeNull();
  });

  it('never repeat across neighbouring camera seeds (three cameras, 200 frames each)', () => {
    const seen = new Set<string>();
    for (const seed of [1101, 1102, 1103]) {
      for (let i = 0; i < 200; i++)
        seen.add(hash(syntheticScene(seed, i, { ...opts, width: 16, height: 12 }).data));
    }
    expect(seen.size).toBe(600);
  });

  it('draw every class about equally often', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      const l = syntheticLabel(5, i);
      counts.set(l, (counts.get(l) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([...SYNTHETIC_CLASSES].sort());
    for (const n of counts.values()) expect(n).toBeGreaterThan(850);
  });
});
