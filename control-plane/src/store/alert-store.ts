/** Alerts the rules raised, and the confidence baselines the drift rule compares against. */
import type { Alert } from '@edgeloop/shared';
import { chunked } from './device-report-batch.ts';
import type { SqlDatabase } from './sql.ts';

/** An alert as stored: the public Alert plus its deduplication key. */
export interface AlertRecord extends Alert {
  key: string;
}

export interface ConfidenceBaseline {
  mean: number;
  predictions: number;
}

export interface AlertStore {
  /** Firing condition alerts (not one-shot), oldest first. */
  firing(): Promise<AlertRecord[]>;
  /** Whether an alert with this key was ever raised (one-shot notifications are sent once). */
  seen(key: string): Promise<boolean>;
  insert(alert: AlertRecord): Promise<void>;
  resolve(id: string, at: string): Promise<AlertRecord | null>;
  /** Newest first: firing ones plus one-shot notifications since `oneShotSince`, or everything. */
  list(query: { open: boolean; oneShotSince: string; limit: number }): Promise<AlertRecord[]>;
  setBaseline(
    deviceId: string,
    modelVersion: number,
    baseline: ConfidenceBaseline,
    at: string,
  ): Promise<void>;
  /**
   * For each device with the version it runs: the mean and count of its newest `limit` top-1
   * confidences with that version, and its baseline; a few statements for the whole fleet
   * (evaluated every few seconds: two statements per device would be thousands a second). The
   * mean is taken in SQL: reading the confidences themselves moved 500,000 rows every evaluation
   * on a 10,000-device fleet, and the garbage of it stalled the leader's event loop.
   */
  confidenceFigures(
    devices: readonly { deviceId: string; modelVersion: number }[],
    limit: number,
  ): Promise<Map<string, ConfidenceFigures>>;
}

export interface ConfidenceFigures {
  /** How many of the newest `limit` there are (fewer while a version is new on the device). */
  recentCount: number;
  /** Their mean, null when there are none. */
  recentMean: number | null;
  baseline: ConfidenceBaseline | null;
}

interface AlertRow {
  id: string;
  key: string;
  rule: string;
  severity: string;
  status: string;
  subject_kind: string;
  subject_id: string;
  summary: string;
  details: string;
  one_shot: number;
  fired_at: string;
  resolved_at: string | null;
}

function fromRow(r: AlertRow): AlertRecord {
  return {
    id: r.id,
    key: r.key,
    rule: r.rule as Alert['rule'],
    severity: r.severity as Alert['severity'],
    status: r.status as Alert['status'],
    subject: { kind: r.subject_kind as Alert['subject']['kind'], id: r.subject_id },
    summary: r.summary,
    details: JSON.parse(r.details) as Record<string, unknown>,
    oneShot: r.one_shot === 1,
    firedAt: r.fired_at,
    resolvedAt: r.resolved_at,
  };
}

export class SqlAlertStore implements AlertStore {
  constructor(private readonly db: SqlDatabase) {}

  async firing(): Promise<AlertRecord[]> {
    return (
      (await this.db
        .prepare("SELECT * FROM alerts WHERE status = 'firing' AND one_shot = 0 ORDER BY fired_at, id")
        .all()) as AlertRow[]
    ).map(fromRow);
  }

  async seen(key: string): Promise<boolean> {
    return (await this.db.prepare('SELECT 1 FROM alerts WHERE key = ? LIMIT 1').get(key)) !== undefined;
  }

  async insert(a: AlertRecord): Promise<void> {
    await this.db
      .prepare(
        `INSERT INTO alerts (id, key, rule, severity, status, subject_kind, subject_id, summary, details,
           one_shot, fired_at, resolved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        a.id,
        a.key,
        a.rule,
        a.severity,
        a.status,
        a.subject.kind,
        a.subject.id,
        a.summary,
        JSON.stringify(a.details),
        a.oneShot ? 1 : 0,
        a.firedAt,
        a.resolvedAt,
      );
  }

  async resolve(id: string, at: string): Promise<AlertRecord | null> {
    const changed = (
      await this.db
        .prepare("UPDATE alerts SET status = 'resolved', resolved_at = ? WHERE id = ? AND status = 'firing'")
        .run(at, id)
    ).changes;
    if (changed === 0) return null;
    return fromRow((await this.db.prepare('SELECT * FROM alerts WHERE id = ?').get(id)) as AlertRow);
  }

  async list(query: { open: boolean; oneShotSince: string; limit: number }): Promise<AlertRecord[]> {
    const where = query.open
      ? "WHERE (status = 'firing' AND one_shot = 0) OR (one_shot = 1 AND fired_at >= ?)"
      : 'WHERE ? IS NOT NULL';
    return (
      (await this.db
        .prepare(`SELECT * FROM alerts ${where} ORDER BY fired_at DESC, id DESC LIMIT ?`)
        .all(query.oneShotSince, query.limit)) as AlertRow[]
    ).map(fromRow);
  }

  async setBaseline(
    deviceId: string,
    modelVersion: number,
    b: ConfidenceBaseline,
    at: string,
  ): Promise<void> {
    await this.db
      .prepare(
        `INSERT INTO confidence_baselines (device_id, model_version, mean, predictions, at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (device_id, model_version) DO NOTHING`,
      )
      .run(deviceId, modelVersion, b.mean, b.predictions, at);
  }

  async confidenceFigures(
    devices: readonly { deviceId: string; modelVersion: number }[],
    limit: number,
  ): Promise<Map<string, ConfidenceFigures>> {
    const out = new Map<string, ConfidenceFigures>();
    const byVersion = new Map<number, string[]>();
    for (const d of devices) {
      out.set(d.deviceId, { recentCount: 0, recentMean: null, baseline: null });
      const ids = byVersion.get(d.modelVersion);
      if (ids) ids.push(d.deviceId);
      else byVersion.set(d.modelVersion, [d.deviceId]);
    }
    for (const [version, ids] of byVersion) {
      for (const chunk of chunked(ids)) {
        const marks = chunk.map(() => '?').join(', ');
        const recent = (await this.db
          .prepare(
            `SELECT device_id, AVG(confidence) AS mean, COUNT(*) AS n FROM (
               SELECT device_id, confidence, ROW_NUMBER() OVER (PARTITION BY device_id ORDER BY id DESC) AS rn
               FROM recent_predictions WHERE model_version = ? AND device_id IN (${marks})
             ) newest WHERE rn <= ? GROUP BY device_id`,
          )
          .all(version, ...chunk, limit)) as {
          device_id: string;
          mean: number | string;
          n: number | string;
        }[];
        for (const r of recent) {
          const figures = out.get(r.device_id);
          if (!figures) continue;
          // Postgres answers COUNT as bigint (a string here).
          figures.recentCount = Number(r.n);
          figures.recentMean = Number(r.mean);
        }
        const baselines = (await this.db
          .prepare(
            `SELECT device_id, mean, predictions FROM confidence_baselines
             WHERE model_version = ? AND device_id IN (${marks})`,
          )
          .all(version, ...chunk)) as { device_id: string; mean: number; predictions: number }[];
        for (const b of baselines) {
          const figures = out.get(b.device_id);
          if (figures) figures.baseline = { mean: b.mean, predictions: b.predictions };
        }
      }
    }
    return out;
  }
}
