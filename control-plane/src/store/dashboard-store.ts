/**
 * Read-only queries the dashboard needs beyond the per-concept stores: the fleet page and fleet
 * sums (fleet-query.ts), per-device telemetry from
 * the recent-predictions window, a device's newest sample, and cheap fingerprints that change
 * whenever the fleet, the labels, the models or the pipeline change (for live updates).
 */
import type { FleetQuery } from '@edgeloop/shared';
import {
  type DeviceCount,
  deviceCounts,
  type FleetResult,
  fleetQuery,
  predictionsStored,
  sampleQueueItems,
} from './fleet-query.ts';
import type { SqlDatabase } from './sql.ts';

export interface TelemetryPoint {
  modelVersion: number;
  topLabel: string;
  confidence: number;
  latencyMs: number;
  capturedAt: string;
  receivedAt: string;
}

export type ChangeTopic = 'fleet' | 'labels' | 'models' | 'pipeline' | 'rollouts' | 'alerts';

export interface DashboardStore {
  /** The Fleet page: one page of the filtered, sorted devices, counts over all that match. */
  fleet(query: FleetQuery): Promise<FleetResult>;
  /** Devices by status and reported version (the edgeloop_devices gauge). */
  deviceCounts(): Promise<DeviceCount[]>;
  /** Samples waiting in online devices' upload queues, summed. */
  sampleQueueItems(): Promise<number>;
  /** Predictions recorded from enrolled devices, summed. */
  predictionsStored(): Promise<number>;
  /**
   * Each device's recent predictions, oldest first (a bounded window per device); only the
   * `newest` of each when given.
   */
  telemetry(deviceIds: readonly string[], newest?: number): Promise<Map<string, TelemetryPoint[]>>;
  /** Id of the device's most recently received sample. */
  latestSampleId(deviceId: string): Promise<string | null>;
  /** One opaque string per topic; it differs whenever something of that topic changed. */
  fingerprints(): Promise<Record<ChangeTopic, string>>;
}

interface TelemetryRow {
  device_id: string;
  model_version: number;
  top_label: string;
  confidence: number;
  latency_ms: number;
  captured_at: string;
  received_at: string;
}

/** SQLite limits bound parameters per statement; pages are far smaller, but chunk anyway. */
const IN_CHUNK = 500;

const FINGERPRINTS: Record<ChangeTopic, string> = {
  fleet: `SELECT COUNT(*), SUM(online), MAX(last_seen_at), MAX(desired_updated_at), MAX(edited_at),
      SUM(COALESCE(reported_version, 0)), GROUP_CONCAT(DISTINCT status),
      (SELECT MAX(id) FROM recent_predictions), (SELECT MAX(id) FROM device_events) FROM devices`,
  labels: `SELECT (SELECT MAX(id) FROM label_events), (SELECT COUNT(*) FROM samples),
      (SELECT COUNT(*) FROM classes)`,
  models: `SELECT (SELECT MAX(version) FROM model_versions), (SELECT MAX(set_at) FROM model_aliases),
      (SELECT MAX(id) FROM promotions)`,
  pipeline: `SELECT COUNT(*), GROUP_CONCAT(status || COALESCE(finished_at, '')),
      (SELECT SUM(LENGTH(log)) || GROUP_CONCAT(status) FROM pipeline_steps) FROM pipeline_runs`,
  rollouts: `SELECT (SELECT COUNT(*) || MAX(updated_at) FROM rollouts),
      (SELECT COUNT(*) || MAX(updated_at) FROM rollout_devices), (SELECT MAX(id) FROM rollout_transitions)`,
  alerts: `SELECT COUNT(*), MAX(fired_at), MAX(resolved_at) FROM alerts`,
};

export class SqlDashboardStore implements DashboardStore {
  constructor(private readonly db: SqlDatabase) {}

  fleet(query: FleetQuery): Promise<FleetResult> {
    return fleetQuery(this.db, query);
  }

  deviceCounts(): Promise<DeviceCount[]> {
    return deviceCounts(this.db);
  }

  sampleQueueItems(): Promise<number> {
    return sampleQueueItems(this.db);
  }

  predictionsStored(): Promise<number> {
    return predictionsStored(this.db);
  }

  async telemetry(deviceIds: readonly string[], newest?: number): Promise<Map<string, TelemetryPoint[]>> {
    const out = new Map<string, TelemetryPoint[]>(deviceIds.map((id) => [id, []]));
    const columns =
      'id, device_id, model_version, top_label, confidence, latency_ms, captured_at, received_at';
    for (let i = 0; i < deviceIds.length; i += IN_CHUNK) {
      const chunk = deviceIds.slice(i, i + IN_CHUNK);
      const where = `device_id IN (${chunk.map(() => '?').join(',')})`;
      const rows = (await (newest === undefined
        ? this.db
            .prepare(`SELECT ${columns} FROM recent_predictions WHERE ${where} ORDER BY id`)
            .all(...chunk)
        : this.db
            .prepare(
              `SELECT ${columns} FROM (
                 SELECT ${columns}, ROW_NUMBER() OVER (PARTITION BY device_id ORDER BY id DESC) AS rn
                 FROM recent_predictions WHERE ${where}
               ) newest WHERE rn <= ? ORDER BY id`,
            )
            .all(...chunk, newest))) as TelemetryRow[];
      for (const r of rows) {
        out.get(r.device_id)?.push({
          modelVersion: r.model_version,
          topLabel: r.top_label,
          confidence: r.confidence,
          latencyMs: r.latency_ms,
          capturedAt: r.captured_at,
          receivedAt: r.received_at,
        });
      }
    }
    return out;
  }

  async latestSampleId(deviceId: string): Promise<string | null> {
    const row = (await this.db
      .prepare('SELECT id FROM samples WHERE device_id = ? ORDER BY received_at DESC, id DESC LIMIT 1')
      .get(deviceId)) as { id: string } | undefined;
    return row?.id ?? null;
  }

  async fingerprints(): Promise<Record<ChangeTopic, string>> {
    const out = {} as Record<ChangeTopic, string>;
    for (const [topic, sql] of Object.entries(FINGERPRINTS) as [ChangeTopic, string][]) {
      out[topic] = JSON.stringify(Object.values((await this.db.prepare(sql).get()) as object));
    }
    return out;
  }
}
