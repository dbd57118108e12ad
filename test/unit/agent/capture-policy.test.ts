import { createRng } from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import { dHash, hammingDistance } from '../../../agent/src/inference/frame-features.ts';
import { PredictionGate } from '../../../agent/src/predictions/prediction-gate.ts';
import {
  type CapturePolicy,
  captureReason,
  normalizedEntropy,
  RateLimits,
  RecentHashes,
  thresholdFor,
} from '../../../agent/src/samples/capture-policy.ts';

const base: CapturePolicy = {
  lowConfidenceThreshold: 0.6,
  minMargin: 0,
  maxEntropy: 1,
  classThresholds: {},
  auditRate: 0,
  maxPerMinute: 1000,
  maxPerHour: 1000,
  maxPerDay: 1000,
  duplicateDistance: 3,
};
const scores = (...pairs: [string, number][]) => pairs.map(([label, confidence]) => ({ label, confidence }));
const never = () => 0.99;

describe('captureReason', () => {
  it('captures a low top-1 and lets a confident one pass', () => {
    expect(captureReason(scores(['cat', 0.55], ['dog', 0.3]), base, never)).toBe('low-confidence');
    expect(captureReason(scores(['cat', 0.9], ['dog', 0.05]), base, never)).toBeNull();
  });

  it('uses a per-class threshold for the predicted class', () => {
    const policy = { ...base, classThresholds: { forklift: 0.95 } };
    expect(captureReason(scores(['forklift', 0.9], ['pallet', 0.05]), policy, never)).toBe('low-confidence');
    expect(captureReason(scores(['pallet', 0.9], ['forklift', 0.05]), policy, never)).toBeNull();
  });

  it("uses the model's recommended thresholds unless the configuration sets one", () => {
    const recommended = { lowConfidenceThreshold: 0.45, classThresholds: { forklift: 0.8 } };
    const unset = { ...base, lowConfidenceThreshold: undefined };
    // Config silent: the model's class threshold, then its overall one.
    expect(captureReason(scores(['forklift', 0.7], ['pallet', 0.2]), unset, never, recommended)).toBe(
      'low-confidence',
    );
    expect(captureReason(scores(['pallet', 0.5], ['forklift', 0.3]), unset, never, recommended)).toBeNull();
    expect(thresholdFor('pallet', unset, recommended)).toBe(0.45);
    // Config sets lowConfidenceThreshold: it replaces every model threshold.
    expect(thresholdFor('forklift', base, recommended)).toBe(0.6);
    expect(captureReason(scores(['forklift', 0.7], ['pallet', 0.2]), base, never, recommended)).toBeNull();
    // Config's own class threshold wins over everything.
    expect(thresholdFor('forklift', { ...unset, classThresholds: { forklift: 0.3 } }, recommended)).toBe(0.3);
    // Neither says: the old default.
    expect(thresholdFor('pallet', unset)).toBe(0.6);
  });

  it('captures a confident top-1 when the runner-up is too close', () => {
    const policy = { ...base, lowConfidenceThreshold: 0.4, minMargin: 0.2 };
    expect(captureReason(scores(['cat', 0.5], ['dog', 0.45]), policy, never)).toBe('low-confidence');
    expect(captureReason(scores(['cat', 0.7], ['dog', 0.2]), policy, never)).toBeNull();
  });

  it('captures a spread-out distribution by entropy', () => {
    const policy = { ...base, lowConfidenceThreshold: 0.3, maxEntropy: 0.8 };
    const spread = scores(['a', 0.34], ['b', 0.33], ['c', 0.33]);
    expect(normalizedEntropy(spread)).toBeGreaterThan(0.99);
    expect(normalizedEntropy(scores(['a', 1]))).toBe(0);
    expect(captureReason(spread, policy, never)).toBe('low-confidence');
    expect(captureReason(scores(['a', 0.96], ['b', 0.02], ['c', 0.02]), policy, never)).toBeNull();
  });

  it('audits a share of confident frames', () => {
    const policy = { ...base, auditRate: 0.1 };
    const confident = scores(['cat', 0.99]);
    expect(captureReason(confident, policy, () => 0.05)).toBe('audit');
    expect(captureReason(confident, policy, () => 0.5)).toBeNull();
    let audited = 0;
    const lcg = createRng(1);
    for (let i = 0; i < 10_000; i++) if (captureReason(confident, policy, lcg) === 'audit') audited++;
    expect(audited).toBeGreaterThan(800);
    expect(audited).toBeLessThan(1200);
  });
});

describe('RateLimits', () => {
  it('enforces per-minute, per-hour and per-day budgets', () => {
    const limits = new RateLimits({ maxPerMinute: 2, maxPerHour: 3, maxPerDay: 4 });
    const t = 1_000_000;
    expect([limits.tryTake(t), limits.tryTake(t + 1), limits.tryTake(t + 2)]).toEqual([true, true, false]);
    expect(limits.tryTake(t + 61_000)).toBe(true); // a new minute, third of the hour
    expect(limits.tryTake(t + 122_000)).toBe(false); // the hour is spent
    expect(limits.tryTake(t + 3_700_000)).toBe(true); // a new hour, fourth of the day
    expect(limits.tryTake(t + 7_400_000)).toBe(false); // the day is spent
    expect(limits.tryTake(t + 86_500_000)).toBe(true);
  });
});

describe('near-duplicate suppression', () => {
  function scene(shift: number, noise: number) {
    const w = 64;
    const h = 48;
    const data = new Uint8Array(w * h * 3);
    let seed = 7 + noise;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        const v = ((x + shift) * 4 + y * 2) % 256;
        data.fill(
          Math.max(0, Math.min(255, v + (noise ? (seed % 7) - 3 : 0))),
          (y * w + x) * 3,
          (y * w + x) * 3 + 3,
        );
      }
    }
    return { width: w, height: h, data };
  }

  it('treats the same scene with sensor noise as a duplicate and a changed scene as new', () => {
    const still = dHash(scene(0, 0));
    const noisy = dHash(scene(0, 1));
    const moved = dHash(scene(40, 0));
    expect(hammingDistance(still, noisy)).toBeLessThanOrEqual(3);
    expect(hammingDistance(still, moved)).toBeGreaterThan(10);
    const recent = new RecentHashes(3);
    recent.add(still);
    expect(recent.isDuplicate(noisy)).toBe(true);
    expect(recent.isDuplicate(moved)).toBe(false);
    expect(new RecentHashes(-1).isDuplicate(still)).toBe(false);
  });
});

describe('PredictionGate', () => {
  const options = { publish: 'change' as const, maxPerSecond: 10, confidenceDelta: 0.1, repeatMs: 5_000 };

  it('publishes changes, not repeats, and repeats after repeatMs', () => {
    const gate = new PredictionGate(options);
    expect(gate.allow(scores(['cat', 0.8]), 0)).toBe(true);
    expect(gate.allow(scores(['cat', 0.82]), 500)).toBe(false);
    expect(gate.allow(scores(['dog', 0.8]), 1_000)).toBe(true);
    expect(gate.allow(scores(['dog', 0.6]), 1_500)).toBe(true); // confidence moved by 0.2
    expect(gate.allow(scores(['dog', 0.6]), 6_600)).toBe(true); // still alive
  });

  it('never exceeds maxPerSecond, in either mode', () => {
    const gate = new PredictionGate({ ...options, publish: 'rate', maxPerSecond: 2 });
    const allowed = Array.from({ length: 20 }, (_, i) => gate.allow(scores(['cat', 0.9]), i * 100));
    expect(allowed.filter(Boolean)).toHaveLength(4); // 0, 500, 1000, 1500 ms
  });
});
