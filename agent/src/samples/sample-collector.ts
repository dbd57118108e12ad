/**
 * Queues the frames the capture policy picks (see capture-policy.ts) with their metadata and a
 * fresh idempotency key. Order of checks: reason, then near-duplicate, then rate limits — so a
 * duplicate never uses up the budget.
 */
import { randomUUID } from 'node:crypto';
import {
  type ClassScore,
  type ConfidenceSpec,
  compactEmbedding,
  EMBEDDING_MAX_INPUT,
  type Logger,
  PROTOCOL_VERSION,
  type SampleMetadata,
} from '@edgeloop/shared';
import type { Frame } from '../camera/camera.ts';
import type { ImageCodec, RgbImage } from '../image/image-codec.ts';
import { dHash } from '../inference/frame-features.ts';
import { type CapturePolicy, captureReason, RateLimits, RecentHashes } from './capture-policy.ts';
import type { AddResult, SampleQueue } from './sample-queue.ts';

export interface CollectorCounters {
  considered: number;
  duplicates: number;
  rateLimited: number;
  queued: number;
}

export class SampleCollector {
  private readonly limits: RateLimits;
  private readonly recent: RecentHashes;
  private readonly counters: CollectorCounters = { considered: 0, duplicates: 0, rateLimited: 0, queued: 0 };

  constructor(
    private readonly policy: CapturePolicy,
    private readonly queue: SampleQueue,
    private readonly codec: ImageCodec,
    private readonly logger: Logger,
    private readonly random: () => number = Math.random,
    /** The camera whose frames this collector sees; carried in each sample's metadata. */
    private readonly cameraId?: string,
  ) {
    this.limits = new RateLimits(policy);
    this.recent = new RecentHashes(policy.duplicateDistance);
  }

  stats(): CollectorCounters {
    return { ...this.counters };
  }

  /**
   * Queues the frame when it qualifies; returns the queue's answer, or null when it did not.
   * `rgb` is the decoded frame the model saw, for the perceptual hash (no second decode);
   * `recommended` the thresholds of the model that classified it (its manifest's `confidence`);
   * `features` its `features` output, if the model has one (sent compacted, frame-embedding.ts).
   */
  async consider(
    frame: Frame,
    topK: ClassScore[],
    modelVersion: number,
    rgb?: RgbImage,
    nowMs = Date.now(),
    recommended?: ConfidenceSpec,
    features?: Float32Array | null,
  ): Promise<(AddResult & { metadata: SampleMetadata }) | null> {
    this.counters.considered++;
    const reason = captureReason(topK, this.policy, this.random, recommended);
    if (!reason) return null;
    const hash = rgb ? dHash(rgb) : null;
    if (hash !== null && this.recent.isDuplicate(hash)) {
      this.counters.duplicates++;
      return null;
    }
    if (!this.limits.tryTake(nowMs)) {
      this.counters.rateLimited++;
      return null;
    }
    if (hash !== null) this.recent.add(hash);
    const metadata: SampleMetadata = {
      protocol: PROTOCOL_VERSION,
      idempotencyKey: randomUUID(),
      modelVersion,
      frameId: frame.frameId.slice(0, 200),
      capturedAt: frame.capturedAt,
      reason,
      topK: topK.slice(0, 20),
      cameraId: this.cameraId,
      ...(usableFeatures(features) ? { embedding: compactEmbedding(features) } : {}),
    };
    const jpeg = await this.codec.toJpeg(frame.image, frame.mime);
    const result = await this.queue.add({ metadata, confidence: topK[0]?.confidence ?? 0, jpeg });
    if (result.queued) this.counters.queued++;
    if (result.dropped) {
      this.logger.debug(
        { dropped: result.dropped, queued: this.queue.size() },
        'sample queue full: evicted the most confident',
      );
    }
    return { ...result, metadata };
  }
}

/** A model's features output worth sending: present, bounded and finite (else the sample goes without). */
function usableFeatures(features: Float32Array | null | undefined): features is Float32Array {
  return (
    features != null &&
    features.length > 0 &&
    features.length <= EMBEDDING_MAX_INPUT &&
    features.every(Number.isFinite)
  );
}
