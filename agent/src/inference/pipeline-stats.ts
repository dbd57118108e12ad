/**
 * Figures for the heartbeat and the local endpoint: latency percentiles over the last frames and
 * the classification rate over the last seconds. Bounded rings, so a months-long run does not grow.
 */

export class PipelineStats {
  private readonly latencies: Float64Array;
  private latencyCount = 0;
  private readonly times: Float64Array;
  private timeCount = 0;

  constructor(
    private readonly window = 512,
    private readonly fpsWindowMs = 10_000,
  ) {
    this.latencies = new Float64Array(window);
    this.times = new Float64Array(window);
  }

  /** One classified frame, finished at `nowMs` (performance.now()) after `latencyMs`. */
  record(latencyMs: number, nowMs = performance.now()): void {
    this.latencies[this.latencyCount++ % this.window] = latencyMs;
    this.times[this.timeCount++ % this.window] = nowMs;
  }

  /** p in [0, 100] of the recent latencies; null before the first frame. */
  percentile(p: number): number | null {
    const n = Math.min(this.latencyCount, this.window);
    if (n === 0) return null;
    const sorted = Array.from(this.latencies.subarray(0, n)).sort((a, b) => a - b);
    return sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))];
  }

  /** Frames classified per second over the last fpsWindowMs (rate between the first and last in it). */
  fps(nowMs = performance.now()): number {
    const n = Math.min(this.timeCount, this.window);
    let recent = 0;
    let oldest = Number.POSITIVE_INFINITY;
    let newest = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const t = this.times[i];
      if (t < nowMs - this.fpsWindowMs) continue;
      recent++;
      oldest = Math.min(oldest, t);
      newest = Math.max(newest, t);
    }
    if (recent < 2 || newest <= oldest) return 0;
    return (recent - 1) / ((newest - oldest) / 1000);
  }
}
