/**
 * Field confidence per model version over a bounded window of recent predictions. Reported in the
 * device state so a rollout can compare a new version against the version it replaced on the same
 * device and camera (shared ModelConfidence).
 */
import type { ModelConfidence } from '@edgeloop/shared';

interface Window {
  confidences: number[];
  since: string;
  until: string;
}

export class ConfidenceStats {
  private readonly windows = new Map<number, Window>();

  constructor(
    private lowConfidenceThreshold: number,
    private readonly windowSize = 500,
    private readonly versionsKept = 3,
  ) {}

  /** A new threshold (remote configuration) for every later summary. */
  setLowConfidenceThreshold(threshold: number): void {
    this.lowConfidenceThreshold = threshold;
  }

  record(modelVersion: number, confidence: number, at = new Date().toISOString()): void {
    let w = this.windows.get(modelVersion);
    if (!w) {
      w = { confidences: [], since: at, until: at };
      this.windows.set(modelVersion, w);
      // Map order is insertion order: the oldest version goes first.
      while (this.windows.size > this.versionsKept) this.windows.delete(this.windows.keys().next().value!);
    }
    w.confidences.push(confidence);
    if (w.confidences.length > this.windowSize) w.confidences.shift();
    w.until = at;
  }

  summary(): ModelConfidence[] {
    return [...this.windows].map(([modelVersion, w]) => {
      const n = w.confidences.length;
      const sum = w.confidences.reduce((a, b) => a + b, 0);
      const low = w.confidences.filter((c) => c < this.lowConfidenceThreshold).length;
      return {
        modelVersion,
        predictions: n,
        meanConfidence: n === 0 ? 0 : Math.min(1, Math.max(0, sum / n)),
        lowConfidenceRate: n === 0 ? 0 : low / n,
        lowConfidenceThreshold: this.lowConfidenceThreshold,
        since: w.since,
        until: w.until,
      };
    });
  }
}
