/**
 * Which classified frames are worth a human label. Pure parts, so each rule is tested alone:
 *
 * - uncertainty: top-1 under the threshold (per predicted class when configured), a small margin
 *   between the two best classes, or a high entropy over the top-k → reason 'low-confidence';
 * - audit: a small random share of confident frames → reason 'audit', so a model that is
 *   confidently wrong still gets caught;
 * - limits per minute, hour and day, so a bad day cannot fill the disk or the labelling queue;
 * - near-duplicates (a dHash within a few bits of a recent capture) are skipped, so a static scene
 *   is not uploaded a thousand times.
 */
import {
  type CaptureReason,
  type ClassScore,
  type ConfidenceSpec,
  normalizedEntropy,
} from '@edgeloop/shared';
import { hammingDistance } from '../inference/frame-features.ts';

/** The threshold when neither the configuration nor the model says (the schema's old default). */
export const DEFAULT_LOW_CONFIDENCE_THRESHOLD = 0.6;

export interface CapturePolicy {
  /** Undefined: the model's recommendation decides (see thresholdFor). */
  lowConfidenceThreshold?: number;
  minMargin: number;
  maxEntropy: number;
  classThresholds: Record<string, number>;
  auditRate: number;
  maxPerMinute: number;
  maxPerHour: number;
  maxPerDay: number;
  duplicateDistance: number;
}

// The capture rule and the labelling queue share one definition (shared/src/class-scores.ts).
export { normalizedEntropy };

/**
 * The top-1 threshold for a frame predicted as `label`. The configuration wins when it sets one
 * (its class threshold, then its lowConfidenceThreshold for every class); otherwise the running
 * model's recommendation, measured on its calibrated validation frames (class, then overall);
 * otherwise DEFAULT_LOW_CONFIDENCE_THRESHOLD.
 */
export function thresholdFor(
  label: string,
  policy: Pick<CapturePolicy, 'lowConfidenceThreshold' | 'classThresholds'>,
  recommended?: Pick<ConfidenceSpec, 'lowConfidenceThreshold' | 'classThresholds'>,
): number {
  return (
    policy.classThresholds[label] ??
    policy.lowConfidenceThreshold ??
    recommended?.classThresholds[label] ??
    recommended?.lowConfidenceThreshold ??
    DEFAULT_LOW_CONFIDENCE_THRESHOLD
  );
}

/** Why this prediction should be labelled, or null when it should not (before limits and duplicates). */
export function captureReason(
  topK: readonly ClassScore[],
  policy: CapturePolicy,
  random: () => number = Math.random,
  recommended?: Pick<ConfidenceSpec, 'lowConfidenceThreshold' | 'classThresholds'>,
): CaptureReason | null {
  const top = topK[0];
  if (!top) return null;
  const threshold = thresholdFor(top.label, policy, recommended);
  if (top.confidence < threshold) return 'low-confidence';
  if (topK.length > 1 && top.confidence - topK[1].confidence < policy.minMargin) return 'low-confidence';
  if (policy.maxEntropy < 1 && normalizedEntropy(topK) > policy.maxEntropy) return 'low-confidence';
  if (policy.auditRate > 0 && random() < policy.auditRate) return 'audit';
  return null;
}

/** Sliding windows of capture times: a capture is allowed only when every window has room. */
export class RateLimits {
  private readonly windows: { spanMs: number; max: number; times: number[] }[];

  constructor(policy: Pick<CapturePolicy, 'maxPerMinute' | 'maxPerHour' | 'maxPerDay'>) {
    this.windows = [
      { spanMs: 60_000, max: policy.maxPerMinute, times: [] },
      { spanMs: 3_600_000, max: policy.maxPerHour, times: [] },
      { spanMs: 86_400_000, max: policy.maxPerDay, times: [] },
    ];
  }

  tryTake(nowMs: number): boolean {
    for (const w of this.windows) {
      while (w.times.length > 0 && w.times[0] <= nowMs - w.spanMs) w.times.shift();
      if (w.times.length >= w.max) return false;
    }
    for (const w of this.windows) w.times.push(nowMs);
    return true;
  }
}

/** The perceptual hashes of the last `size` captures. */
export class RecentHashes {
  private readonly hashes: bigint[] = [];

  constructor(
    private readonly maxDistance: number,
    private readonly size = 64,
  ) {}

  isDuplicate(hash: bigint): boolean {
    if (this.maxDistance < 0) return false;
    return this.hashes.some((h) => hammingDistance(h, hash) <= this.maxDistance);
  }

  add(hash: bigint): void {
    this.hashes.push(hash);
    if (this.hashes.length > this.size) this.hashes.shift();
  }
}
