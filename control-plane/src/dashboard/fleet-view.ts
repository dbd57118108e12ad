/**
 * The Fleet page's data: every device filtered, sorted and cut to one page, with counts over the
 * whole filtered fleet and per-device figures (fps, latency, low-confidence rate, a confidence
 * trend) computed from the recent-predictions window for the devices on that page only — so a
 * page of 50 out of 10,000 devices costs one device scan and one small telemetry query.
 */
import type { DeviceHealth, FleetQuery } from '@edgeloop/shared';
import { isConverging, summaryOf } from '../devices/device-summary.ts';
import type { TelemetryPoint } from '../store/dashboard-store.ts';
import { hasAllTags } from '../store/device-tags.ts';
import type { DeviceRecord, Store } from '../store/store.ts';

/** The agent's default sampling threshold: below it a frame counts as low-confidence. */
export const LOW_CONFIDENCE = 0.6;
const TREND_POINTS = 30;
const RATE_POINTS = 20;

type Sort = FleetQuery['sort'];

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

const versionKey = (d: DeviceRecord) => (d.reportedVersion === null ? 'none' : String(d.reportedVersion));

function compare(sort: Sort): (a: DeviceRecord, b: DeviceRecord) => number {
  const text = (v: string | null) => v ?? '';
  switch (sort) {
    case 'name':
      return (a, b) => text(a.name).localeCompare(text(b.name));
    case 'group':
      return (a, b) => a.group.localeCompare(b.group);
    case 'lastSeenAt':
      return (a, b) => text(a.lastSeenAt).localeCompare(text(b.lastSeenAt));
    case 'version':
      return (a, b) => (a.reportedVersion ?? -1) - (b.reportedVersion ?? -1);
    case 'online':
      return (a, b) => Number(a.online) - Number(b.online);
    default:
      return () => 0;
  }
}

export async function fleetPage(store: Store, query: FleetQuery) {
  const all = await store.devices.list();
  const matches = all.filter(
    (d) =>
      (query.status === 'all' || d.online === (query.status === 'online')) &&
      (query.group === '' || d.group === query.group) &&
      hasAllTags(d.tags, query.tags) &&
      (query.version === '' || versionKey(d) === query.version) &&
      (query.q === '' ||
        d.deviceId.toLowerCase().includes(query.q) ||
        (d.name ?? '').toLowerCase().includes(query.q) ||
        d.group.toLowerCase().includes(query.q) ||
        d.tags.some((t) => t.includes(query.q))),
  );
  const byId = (a: DeviceRecord, b: DeviceRecord) => a.deviceId.localeCompare(b.deviceId);
  const primary = compare(query.sort);
  const sign = query.dir === 'desc' ? -1 : 1;
  matches.sort((a, b) => sign * (primary(a, b) || byId(a, b)));

  const count = (key: (d: DeviceRecord) => string) => {
    const out: Record<string, number> = {};
    for (const d of matches) out[key(d)] = (out[key(d)] ?? 0) + 1;
    return out;
  };
  const slice = matches.slice(query.page * query.pageSize, (query.page + 1) * query.pageSize);
  const telemetry = await store.dashboard.telemetry(slice.map((d) => d.deviceId));
  return {
    total: all.length,
    matching: matches.length,
    page: query.page,
    pageSize: query.pageSize,
    counts: {
      byVersion: count(versionKey),
      byStatus: count((d) => (d.online ? 'online' : 'offline')),
      byRunStatus: count((d) => d.status ?? 'unknown'),
      bySync: count((d) => (d.desiredVersion === null ? 'none' : isConverging(d) ? 'converging' : 'in-sync')),
      pinned: matches.filter((d) => d.pin !== null).length,
    },
    groups: [...new Set(all.map((d) => d.group))].sort(),
    tags: [...new Set(all.flatMap((d) => d.tags))].sort(),
    devices: slice.map((d) => ({
      ...summaryOf(d),
      ...figuresOf(telemetry.get(d.deviceId) ?? [], d.health),
    })),
  };
}
