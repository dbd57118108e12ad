/** One line for people on how far an ECE figure can be trusted (see metrics.json's EceDetail). */
import type { EceDetail } from '@edgeloop/shared';

export function formatEceDetail(d: EceDetail, frames: number): string {
  const f = (v: number) => v.toFixed(3);
  const crossFit = d.crossFit === undefined ? '' : `, cross-fitted ${f(d.crossFit)}`;
  return `ECE bootstrap 95% ${f(d.interval[0])}–${f(d.interval[1])}, adaptive ${f(d.adaptive)}${crossFit}; a perfectly calibrated model would show ${f(d.noiseFloor.mean)} (95%: ≤ ${f(d.noiseFloor.p95)}) on these ${frames} frames`;
}
