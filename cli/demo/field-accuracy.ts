/**
 * Scores the devices' live predictions against the synthetic camera's ground truth, per model
 * version. Only the demo can do this: its camera frames carry their scene's (seed, index).
 */
import { type Prediction, syntheticFrameLabel } from '@edgeloop/shared';

export class FieldAccuracy {
  private readonly counts = new Map<number, { correct: number; total: number }>();
  private recording = false;

  start(): void {
    this.recording = true;
  }

  stop(): void {
    this.recording = false;
  }

  record(prediction: Prediction): void {
    if (!this.recording) return;
    const truth = syntheticFrameLabel(prediction.frameId);
    if (truth === null) return;
    const c = this.counts.get(prediction.modelVersion) ?? { correct: 0, total: 0 };
    c.total++;
    if (prediction.topK[0]?.label === truth) c.correct++;
    this.counts.set(prediction.modelVersion, c);
  }

  of(version: number): { accuracy: number | null; total: number } {
    const c = this.counts.get(version);
    return { accuracy: c && c.total > 0 ? c.correct / c.total : null, total: c?.total ?? 0 };
  }
}
