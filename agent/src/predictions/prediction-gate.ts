/**
 * Decides which predictions go out on MQTT. Never more than maxPerSecond, so a fast camera does not
 * flood the broker. In 'change' mode only news is published: a new top-1 label, a top-1 confidence
 * that moved by confidenceDelta, or the same answer again after repeatMs (so subscribers see the
 * device is still looking). In 'rate' mode every prediction is published up to the cap.
 */
import type { ClassScore } from '@edgeloop/shared';

export interface PredictionGateOptions {
  publish: 'change' | 'rate';
  maxPerSecond: number;
  confidenceDelta: number;
  repeatMs: number;
}

export class PredictionGate {
  private lastAt = Number.NEGATIVE_INFINITY;
  private lastLabel: string | null = null;
  private lastConfidence = 0;

  constructor(private readonly o: PredictionGateOptions) {}

  allow(topK: readonly ClassScore[], nowMs = performance.now()): boolean {
    if (nowMs - this.lastAt < 1000 / this.o.maxPerSecond) return false;
    const top = topK[0];
    if (this.o.publish === 'change' && top) {
      const news =
        top.label !== this.lastLabel ||
        Math.abs(top.confidence - this.lastConfidence) >= this.o.confidenceDelta ||
        nowMs - this.lastAt >= this.o.repeatMs;
      if (!news) return false;
    }
    this.lastAt = nowMs;
    this.lastLabel = top?.label ?? null;
    this.lastConfidence = top?.confidence ?? 0;
    return true;
  }
}
