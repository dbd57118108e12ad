/**
 * The Fleet page's data: the devices filtered, sorted and cut to one page in SQL
 * (store/fleet-query.ts), with counts over the whole filtered fleet, and per-device figures (fps,
 * latency, low-confidence rate, a confidence trend) computed from the recent-predictions window
 * for the devices on that page only — so a page of 50 out of 10,000 devices reads 50 device rows
 * and one small telemetry query.
 */
import type { DeviceHealth, FleetQuery } from '@edgeloop/shared';
import { summaryOf } from '../devices/device-summary.ts';
import type { TelemetryPoint } from '../store/dashboard-store.ts';
import type { Store } from '../store/store.ts';

/** The agent's default sampling threshold: below it a frame counts as low-confidence. */
export const LOW_CONFIDENCE = 0.6;
const TREND_POINTS = 30;
const RATE_POINTS = 20;

export interface DeviceFigures {
  fps: number | null;
  latencyMs: number | null;
  lowConfidenceRate: number | null;
  trend: number[];
}

/**
 * fps and latency come from the agent's heartbeat when it sends one (it counts every frame);
 * otherwise, and always for the confidence figures, from the recorded predictions.
 */
export function figuresOf(
  points: readonly TelemetryPoint[],
  health: DeviceHealth | null = null,
): DeviceFigures {
  const recent = points.slice(-RATE_POINTS);
  if (recent.length === 0) {
    return {
      fps: health?.fps ?? null,
      latencyMs: health?.latencyP50Ms ?? null,
      lowConfidenceRate: null,
      trend: [],
    };
  }
  const span = (Date.parse(recent.at(-1)!.capturedAt) - Date.parse(recent[0].capturedAt)) / 1000;
  return {
    fps: health?.fps ?? (recent.length > 1 && span > 0 ? (recent.length - 1) / span : null),
    latencyMs: health?.latencyP50Ms ?? recent.reduce((sum, p) => sum + p.latencyMs, 0) / recent.length,
    lowConfidenceRate: recent.filter((p) => p.confidence < LOW_CONFIDENCE).length / recent.length,
    trend: points.slice(-TREND_POINTS).map((p) => Math.round(p.confidence * 1000) / 1000),
  };
}

export async function fleetPage(store: Store, query: FleetQuery) {
  const fleet = await store.dashboard.fleet(query);
  // Only what the figures use: a page of 100 devices with full windows was 10,000 rows.
  const telemetry = await store.dashboard.telemetry(
    fleet.devices.map((d) => d.deviceId),
    Math.max(TREND_POINTS, RATE_POINTS),
  );
  return {
    total: fleet.total,
    matching: fleet.matching,
    page: query.page,
    pageSize: query.pageSize,
    counts: fleet.counts,
    groups: fleet.groups,
    tags: fleet.tags,
    devices: fleet.devices.map((d) => ({
      ...summaryOf(d),
      ...figuresOf(telemetry.get(d.deviceId) ?? [], d.health),
    })),
  };
}
