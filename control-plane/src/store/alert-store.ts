/** Alerts the rules raised, and the confidence baselines the drift rule compares against. */
import type { Alert } from '@edgeloop/shared';
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
  baseline(deviceId: string, modelVersion: number): Promise<ConfidenceBaseline | null>;
  setBaseline(
    deviceId: string,
    modelVersion: number,
    baseline: ConfidenceBaseline,
    at: string,
  ): Promise<void>;
  /** Recent top-1 confidences of a device with one model version, newest first. */
  recentConfidences(deviceId: string, modelVersion: number, limit: number): Promise<number[]>;
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

  async baseline(deviceId: string, modelVersion: number): Promise<ConfidenceBaseline | null> {
    const row = (await this.db
      .prepare('SELECT mean, predictions FROM confidence_baselines WHERE device_id = ? AND model_version = ?')
      .get(deviceId, modelVersion)) as ConfidenceBaseline | undefined;
    return row ?? null;
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

  async recentConfidences(deviceId: string, modelVersion: number, limit: number): Promise<number[]> {
    return (
      (await this.db
        .prepare(
          'SELECT confidence FROM recent_predictions WHERE device_id = ? AND model_version = ? ORDER BY id DESC LIMIT ?',
        )
        .all(deviceId, modelVersion, limit)) as { confidence: number }[]
    ).map((r) => r.confidence);
  }
}
