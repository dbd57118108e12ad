/**
 * Decides which frames go back for labelling (top-1 confidence under the threshold, at most
 * maxPerMinute) and queues them with their metadata and a fresh idempotency key.
 */
import { randomUUID } from 'node:crypto';
import { type ClassScore, type Logger, PROTOCOL_VERSION, type SampleMetadata } from '@edgeloop/shared';
import type { Frame } from '../camera/camera.ts';
import type { ImageCodec } from '../image/image-codec.ts';
import type { AddResult, SampleQueue } from './sample-queue.ts';

export interface SamplePolicy {
  lowConfidenceThreshold: number;
  maxPerMinute: number;
}

/** Sliding one-minute window of capture times. */
export class RateWindow {
  private readonly times: number[] = [];

  constructor(private readonly maxPerMinute: number) {}

  tryTake(nowMs: number): boolean {
    while (this.times.length > 0 && this.times[0] <= nowMs - 60_000) this.times.shift();
    if (this.times.length >= this.maxPerMinute) return false;
    this.times.push(nowMs);
    return true;
  }
}

export class SampleCollector {
  private readonly rate: RateWindow;

  constructor(
    private readonly policy: SamplePolicy,
    private readonly queue: SampleQueue,
    private readonly codec: ImageCodec,
    private readonly logger: Logger,
  ) {
    this.rate = new RateWindow(policy.maxPerMinute);
  }

  /** Queues the frame when it qualifies; returns the queue's answer, or null when it did not qualify. */
  async consider(
    frame: Frame,
    topK: ClassScore[],
    modelVersion: number,
    nowMs = Date.now(),
  ): Promise<(AddResult & { metadata: SampleMetadata }) | null> {
    const confidence = topK[0]?.confidence ?? 0;
    if (confidence >= this.policy.lowConfidenceThreshold) return null;
    if (!this.rate.tryTake(nowMs)) return null;
    const metadata: SampleMetadata = {
      protocol: PROTOCOL_VERSION,
      idempotencyKey: randomUUID(),
      modelVersion,
      frameId: frame.frameId.slice(0, 200),
      capturedAt: frame.capturedAt,
      reason: 'low-confidence',
      topK: topK.slice(0, 20),
    };
    const jpeg = await this.codec.toJpeg(frame.image, frame.mime);
    const result = await this.queue.add({ metadata, confidence, jpeg });
    if (result.dropped) {
      this.logger.debug(
        { dropped: result.dropped, queued: this.queue.size() },
        'sample queue full: dropped the most confident',
      );
    }
    return { ...result, metadata };
  }
}
