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
import type { SqlDatabase, SqlDialect } from './sql.ts';

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

/**
 * What each topic's fingerprint reads, every second per control plane while a dashboard is open,
 * so each stays bounded however long the system runs: finished pipeline runs and rollouts are
 * seen through their counts and newest times, never their logs or device rows. Every change of a
 * rollout device's state adds a rollout_transitions row, whose newest id stands for them all.
 * `list` is the engine's string aggregate (SQLite has GROUP_CONCAT, Postgres string_agg). Each
 * value gets its own name: Postgres names unnamed columns by their function, and a row object
 * keeps one value per name.
 */
function fingerprintQueries(dialect: SqlDialect): Record<ChangeTopic, string> {
  const list = (expr: string) =>
    dialect === 'postgres' ? `string_agg(${expr}, ',')` : `GROUP_CONCAT(${expr})`;
  const select = (values: string[], from = '') =>
    `SELECT ${values.map((v, i) => `${v} AS v${i}`).join(', ')}${from ? ` FROM ${from}` : ''}`;
  return {
    fleet: select(
      [
        'COUNT(*)',
        'SUM(online)',
        'MAX(last_seen_at)',
        'MAX(desired_updated_at)',
        'MAX(edited_at)',
        'SUM(COALESCE(reported_version, 0))',
        list('DISTINCT status'),
        '(SELECT MAX(id) FROM recent_predictions)',
        '(SELECT MAX(id) FROM device_events)',
      ],
      'devices',
    ),
    labels: select([
      '(SELECT MAX(id) FROM label_events)',
      '(SELECT COUNT(*) FROM samples)',
      '(SELECT COUNT(*) FROM classes)',
    ]),
    models: select([
      '(SELECT MAX(version) FROM model_versions)',
      '(SELECT MAX(set_at) FROM model_aliases)',
      '(SELECT MAX(id) FROM promotions)',
    ]),
    // A run that finishes sets the newest finished_at; only unfinished runs' steps and logs are read.
    pipeline: select(
      [
        'COUNT(*)',
        'MAX(created_at)',
        'MAX(finished_at)',
        `(SELECT ${list("r.id || ':' || r.status")} FROM pipeline_runs r WHERE r.finished_at IS NULL)`,
        `(SELECT SUM(LENGTH(s.log)) || ':' || ${list('s.status')} FROM pipeline_steps s
           JOIN pipeline_runs r ON r.id = s.run_id WHERE r.finished_at IS NULL)`,
      ],
      'pipeline_runs',
    ),
    rollouts: select([
      "(SELECT COUNT(*) || ':' || MAX(updated_at) FROM rollouts)",
      '(SELECT MAX(id) FROM rollout_transitions)',
    ]),
    alerts: select(['COUNT(*)', 'MAX(fired_at)', 'MAX(resolved_at)'], 'alerts'),
  };
}

export class SqlDashboardStore implements DashboardStore {
  /** The engine is known from the start: its fingerprint queries are written once. */
  private readonly fingerprintSql: Record<ChangeTopic, string>;
  constructor(private readonly db: SqlDatabase) {
    this.fingerprintSql = fingerprintQueries(db.dialect);
  }

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
    for (const [topic, sql] of Object.entries(this.fingerprintSql) as [ChangeTopic, string][]) {
      out[topic] = JSON.stringify(Object.values((await this.db.prepare(sql).get()) as object));
    }
    return out;
  }
}
