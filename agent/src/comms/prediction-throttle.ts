/**
 * Caps published predictions at `maxPerSecond`: a slow camera publishes every frame, a fast one
 * publishes at most that many per second so the broker is not flooded with near-identical results.
 */
export class PredictionThrottle {
  private readonly minGapMs: number;
  private last = Number.NEGATIVE_INFINITY;

  constructor(cameraFps: number, maxPerSecond = 5) {
    this.minGapMs = cameraFps <= maxPerSecond ? 0 : 1000 / maxPerSecond;
  }

  allow(nowMs = performance.now()): boolean {
    if (nowMs - this.last < this.minGapMs) return false;
    this.last = nowMs;
    return true;
  }
}
