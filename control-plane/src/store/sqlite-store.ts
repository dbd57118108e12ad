/** The SQLite Store: the only importer of better-sqlite3. WAL mode, ordered migrations. */
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  ConflictError,
  DEFAULT_CAMERA_ID,
  type DeviceEvent,
  type DeviceStatus,
  type Logger,
  type Manifest,
  PRIVATE_DIR_MODE,
  PRIVATE_FILE_MODE,
  type Prediction,
  type ReportedState,
  UnauthorizedError,
} from '@edgeloop/shared';
import Database from 'better-sqlite3';
import { SqlAgentVersionStore } from './agent-version-store.ts';
import { SqliteAlertStore } from './alert-store.ts';
import { SqliteConfigStore } from './config-store.ts';
import { SqliteDashboardStore } from './dashboard-store.ts';
import { SqliteDatasetStore } from './dataset-store.ts';
import { hasAllTags } from './device-tags.ts';
import { createSqlFleetTargetStore, type FleetTargetStore } from './fleet-target-store.ts';
import { SqliteLabellingStore } from './labelling-store.ts';
import { createSqlLeaseStore, type LeaseStore } from './lease-store.ts';
import { MIGRATIONS } from './migrations.ts';
import { SqlitePipelineStore } from './pipeline-store.ts';
import type {
  CameraPrediction,
  DeviceRecord,
  DeviceTarget,
  EnrollmentTokenRecord,
  ModelVersionRecord,
  NewDevice,
  NewSample,
  SampleRecord,
} from './records.ts';
import { SqliteRegistryStore } from './registry-store.ts';
import { createSqlRolloutStore, type RolloutStore } from './rollout-store.ts';
import {
  type DeviceEventRow,
  type DeviceRow,
  deviceEventFromRow,
  deviceFromRow,
  type ModelVersionRow,
  modelVersionFromRow,
  type SampleRow,
  sampleFromRow,
} from './rows.ts';
import { SqliteSecurityStore } from './security-store.ts';
import { createSqlSessionStore, type SessionStore } from './session-store.ts';
import type { SqlDatabase } from './sql.ts';
import type { Store } from './store.ts';
import { SqliteWebhookDeliveryStore } from './webhook-delivery-store.ts';

/** How many recent predictions are kept per device; older ones only count in prediction_stats. */
export const RECENT_PREDICTIONS_PER_DEVICE = 100;

const DEVICE_SELECT = `
  SELECT d.*, p.total AS predictions_total, p.last_prediction AS last_prediction
  FROM devices d LEFT JOIN prediction_stats p ON p.device_id = d.id`;

export function openSqliteStore(file: string, logger: Logger): Store {
  mkdirSync(dirname(file), { recursive: true, mode: PRIVATE_DIR_MODE });
  const db = new Database(file);
  // SQLite gives its -wal and -shm files the database file's mode.
  chmodSync(file, PRIVATE_FILE_MODE);
  db.pragma('journal_mode = WAL');
  // FULL: a committed row survives power loss too, so a 201 really means durable.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db, logger);
  return new SqliteStore(db);
}

function migrate(db: Database.Database, logger: Logger): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at TEXT NOT NULL)');
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as { v: number | null };
  const current = row.v ?? 0;
  for (const migration of MIGRATIONS) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (?, ?)').run(
        migration.version,
        new Date().toISOString(),
      );
    }).immediate();
    logger.info({ version: migration.version, name: migration.name }, 'applied migration');
  }
}

class SqliteStore implements Store {
  readonly rollouts: RolloutStore;
  readonly targets: FleetTargetStore;
  readonly labelling: SqliteLabellingStore;
  readonly datasets: SqliteDatasetStore;
  readonly registry: SqliteRegistryStore;
  readonly pipeline: SqlitePipelineStore;
  readonly dashboard: SqliteDashboardStore;
  readonly alerts: SqliteAlertStore;
  readonly config: SqliteConfigStore;
  readonly webhookDeliveries: SqliteWebhookDeliveryStore;
  readonly security: SqliteSecurityStore;
  readonly sessions: SessionStore;
  readonly leases: LeaseStore;
  readonly agentVersions: SqlAgentVersionStore;

  constructor(private readonly db: Database.Database) {
    const sql: SqlDatabase = {
      prepare: (text) => db.prepare(text),
      // IMMEDIATE: takes the write lock up front, so a second process on the same file (replicas
      // on one host) waits busy_timeout for it instead of failing a read-to-write upgrade at once.
      transaction: (fn) => db.transaction(fn).immediate,
    };
    this.labelling = new SqliteLabellingStore(sql);
    this.datasets = new SqliteDatasetStore(sql);
    this.registry = new SqliteRegistryStore(sql);
    this.pipeline = new SqlitePipelineStore(sql);
    this.rollouts = createSqlRolloutStore(sql);
    this.targets = createSqlFleetTargetStore(sql);
    this.dashboard = new SqliteDashboardStore(sql);
    this.alerts = new SqliteAlertStore(sql);
    this.config = new SqliteConfigStore(sql);
    this.webhookDeliveries = new SqliteWebhookDeliveryStore(sql);
    this.security = new SqliteSecurityStore(sql);
    this.sessions = createSqlSessionStore(sql);
    this.leases = createSqlLeaseStore(sql);
    this.agentVersions = new SqlAgentVersionStore(sql);
  }

  createEnrollmentToken(token: EnrollmentTokenRecord): void {
    this.db
      .prepare(
        'INSERT INTO enrollment_tokens (token_hash, grp, uses_left, expires_at, reenroll) VALUES (?, ?, ?, ?, ?)',
      )
      .run(token.tokenHash, token.group, token.usesLeft, token.expiresAt, token.reenroll ? 1 : 0);
  }

  enrollmentTokenUsable(tokenHash: string, now: Date): boolean {
    const token = this.db
      .prepare('SELECT uses_left, expires_at FROM enrollment_tokens WHERE token_hash = ?')
      .get(tokenHash) as { uses_left: number; expires_at: string } | undefined;
    return token !== undefined && token.uses_left > 0 && Date.parse(token.expires_at) > now.getTime();
  }

  enrollDevice(tokenHash: string, device: NewDevice, now: Date): DeviceRecord {
    return this.db
      .transaction(() => {
        const token = this.db
          .prepare('SELECT grp, uses_left, expires_at, reenroll FROM enrollment_tokens WHERE token_hash = ?')
          .get(tokenHash) as
          | { grp: string; uses_left: number; expires_at: string; reenroll: number }
          | undefined;
        if (!token || token.uses_left <= 0 || Date.parse(token.expires_at) <= now.getTime()) {
          throw new UnauthorizedError('enrollment token is unknown, expired or used up');
        }
        const existing = this.getDevice(device.deviceId);
        if (existing && !(token.reenroll === 1 && existing.group === token.grp)) {
          throw new ConflictError(`device '${device.deviceId}' already exists`);
        }
        this.db
          .prepare('UPDATE enrollment_tokens SET uses_left = uses_left - 1 WHERE token_hash = ?')
          .run(tokenHash);
        if (existing) {
          // Re-enrollment after a wipe: a new secret, nothing reported yet; group, tags, pin,
          // desired state and history stay (the operator's record of the device).
          this.db
            .prepare(
              `UPDATE devices SET secret_hash = ?, name = COALESCE(?, name), hardware = COALESCE(?, hardware),
               reported_version = NULL, status = NULL, detail = NULL, health = NULL WHERE id = ?`,
            )
            .run(device.secretHash, device.name, device.hardware, device.deviceId);
          return this.getDevice(device.deviceId)!;
        }
        this.db
          .prepare(
            `INSERT INTO devices (id, name, grp, hardware, secret_hash, enrolled_at, tags)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            device.deviceId,
            device.name,
            token.grp,
            device.hardware,
            device.secretHash,
            now.toISOString(),
            JSON.stringify(device.tags ?? []),
          );
        return this.getDevice(device.deviceId)!;
      })
      .immediate();
  }

  deviceExists(deviceId: string): boolean {
    return this.db.prepare('SELECT 1 FROM devices WHERE id = ?').get(deviceId) !== undefined;
  }

  getDevice(deviceId: string): DeviceRecord | null {
    const row = this.db.prepare(`${DEVICE_SELECT} WHERE d.id = ?`).get(deviceId) as DeviceRow | undefined;
    return row ? deviceFromRow(row) : null;
  }

  getDeviceSecretHash(deviceId: string): string | null {
    const row = this.db.prepare('SELECT secret_hash FROM devices WHERE id = ?').get(deviceId) as
      | { secret_hash: string }
      | undefined;
    return row?.secret_hash ?? null;
  }

  listDevices(): DeviceRecord[] {
    const rows = this.db.prepare(`${DEVICE_SELECT} ORDER BY d.id`).all() as DeviceRow[];
    return rows.map(deviceFromRow);
  }

  updateDevice(deviceId: string, update: { group?: string; tags?: string[] }): DeviceRecord | null {
    const result = this.db
      .prepare(
        'UPDATE devices SET grp = COALESCE(?, grp), tags = COALESCE(?, tags), edited_at = ? WHERE id = ?',
      )
      .run(
        update.group ?? null,
        update.tags ? JSON.stringify(update.tags) : null,
        new Date().toISOString(),
        deviceId,
      );
    return result.changes === 0 ? null : this.getDevice(deviceId);
  }

  resolveTarget(target: DeviceTarget): string[] {
    let rows: { id: string }[];
    if ('deviceIds' in target) {
      const ids = [...new Set(target.deviceIds)];
      rows = this.db
        .prepare(`SELECT id FROM devices WHERE id IN (${ids.map(() => '?').join(',')}) ORDER BY id`)
        .all(...ids) as { id: string }[];
    } else if ('group' in target) {
      rows = this.db.prepare('SELECT id FROM devices WHERE grp = ? ORDER BY id').all(target.group) as {
        id: string;
      }[];
    } else if ('tags' in target) {
      const tagged = this.db.prepare('SELECT id, tags FROM devices ORDER BY id').all() as {
        id: string;
        tags: string;
      }[];
      rows = tagged.filter((r) => hasAllTags(JSON.parse(r.tags) as string[], target.tags));
    } else {
      rows = this.db.prepare('SELECT id FROM devices ORDER BY id').all() as { id: string }[];
    }
    return rows.map((r) => r.id);
  }

  setDesiredVersion(
    deviceIds: readonly string[],
    modelVersion: number | null,
    at: string,
    manifestPath: string | null = null,
  ): void {
    const update = this.db.prepare(
      'UPDATE devices SET desired_version = ?, desired_updated_at = ?, desired_manifest_path = ? WHERE id = ?',
    );
    this.db
      .transaction(() => {
        for (const id of deviceIds) update.run(modelVersion, at, manifestPath, id);
      })
      .immediate();
  }

  recordReportedState(deviceId: string, state: ReportedState, receivedAt: string): void {
    this.db
      .prepare(
        `UPDATE devices SET reported_version = ?, status = ?, detail = ?, agent_version = ?,
           frames_processed = ?, samples_queued = ?, last_seen_at = ?, health = ? WHERE id = ?`,
      )
      .run(
        state.modelVersion,
        state.status,
        state.detail ?? null,
        state.agentVersion,
        state.framesProcessed,
        state.samplesQueued,
        receivedAt,
        state.health ? JSON.stringify(state.health) : null,
        deviceId,
      );
  }

  recordStatus(deviceId: string, status: DeviceStatus, receivedAt: string): void {
    this.db
      .prepare('UPDATE devices SET online = ?, last_seen_at = ? WHERE id = ?')
      .run(status.online ? 1 : 0, receivedAt, deviceId);
  }

  recordPrediction(deviceId: string, prediction: Prediction, receivedAt: string): void {
    const top = prediction.topK.reduce((a, b) => (b.confidence > a.confidence ? b : a));
    this.db
      .transaction(() => {
        this.db
          .prepare(
            `INSERT INTO prediction_stats (device_id, total, last_prediction, last_received_at) VALUES (?, 1, ?, ?)
           ON CONFLICT (device_id) DO UPDATE SET total = total + 1,
             last_prediction = excluded.last_prediction, last_received_at = excluded.last_received_at`,
          )
          .run(deviceId, JSON.stringify(prediction), receivedAt);
        this.db
          .prepare(
            `INSERT INTO camera_predictions (device_id, camera_id, prediction, received_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (device_id, camera_id) DO UPDATE SET
             prediction = excluded.prediction, received_at = excluded.received_at`,
          )
          .run(deviceId, prediction.cameraId ?? DEFAULT_CAMERA_ID, JSON.stringify(prediction), receivedAt);
        const { lastInsertRowid } = this.db
          .prepare(
            `INSERT INTO recent_predictions
             (device_id, model_version, frame_id, top_label, confidence, latency_ms, captured_at, received_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            deviceId,
            prediction.modelVersion,
            prediction.frameId,
            top.label,
            top.confidence,
            prediction.latencyMs,
            prediction.capturedAt,
            receivedAt,
          );
        this.db
          .prepare('DELETE FROM recent_predictions WHERE device_id = ? AND id <= ?')
          .run(deviceId, Number(lastInsertRowid) - RECENT_PREDICTIONS_PER_DEVICE);
        this.db.prepare('UPDATE devices SET last_seen_at = ? WHERE id = ?').run(receivedAt, deviceId);
      })
      .immediate();
  }

  cameraPredictions(deviceId: string): CameraPrediction[] {
    const rows = this.db
      .prepare(
        'SELECT camera_id, prediction, received_at FROM camera_predictions WHERE device_id = ? ORDER BY camera_id',
      )
      .all(deviceId) as { camera_id: string; prediction: string; received_at: string }[];
    return rows.map((r) => ({
      cameraId: r.camera_id,
      prediction: JSON.parse(r.prediction) as Prediction,
      receivedAt: r.received_at,
    }));
  }

  pruneDeviceEvents(before: string, keepPerDevice: number): number {
    return this.db
      .transaction(() => {
        const old = this.db.prepare('DELETE FROM device_events WHERE received_at < ?').run(before).changes;
        const extra = this.db
          .prepare(
            `DELETE FROM device_events WHERE id IN (
             SELECT id FROM (
               SELECT id, ROW_NUMBER() OVER (PARTITION BY device_id ORDER BY id DESC) AS newest
               FROM device_events)
             WHERE newest > ?)`,
          )
          .run(keepPerDevice).changes;
        return old + extra;
      })
      .immediate();
  }

  recordEvent(deviceId: string, event: DeviceEvent, receivedAt: string): void {
    this.db
      .prepare(
        `INSERT INTO device_events (device_id, type, message, model_version, camera_id, at, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        deviceId,
        event.type,
        event.message,
        event.modelVersion ?? null,
        event.cameraId ?? null,
        event.at,
        receivedAt,
      );
  }

  listEvents(deviceId: string, limit = 100) {
    const rows = this.db
      .prepare('SELECT * FROM device_events WHERE device_id = ? ORDER BY id DESC LIMIT ?')
      .all(deviceId, limit) as DeviceEventRow[];
    return rows.map(deviceEventFromRow);
  }

  markAllOffline(): void {
    this.db.prepare('UPDATE devices SET online = 0').run();
  }

  latestModelVersion(): number | null {
    const row = this.db.prepare('SELECT MAX(version) AS v FROM model_versions').get() as { v: number | null };
    return row.v;
  }

  insertModelVersion(record: ModelVersionRecord): void {
    this.db
      .transaction(() => {
        const latest = this.latestModelVersion();
        if (latest !== null && record.modelVersion <= latest) {
          throw new ConflictError(
            `model version ${record.modelVersion} must be greater than the latest version ${latest}`,
          );
        }
        this.db
          .prepare(
            `INSERT INTO model_versions (version, name, manifest, metrics, created_at, published_at)
           VALUES (?, ?, ?, ?, ?, ?)`,
          )
          .run(
            record.modelVersion,
            record.name,
            JSON.stringify(record.manifest),
            record.metrics === null ? null : JSON.stringify(record.metrics),
            record.createdAt,
            record.publishedAt,
          );
      })
      .immediate();
  }

  getModelVersion(modelVersion: number): ModelVersionRecord | null {
    const row = this.db.prepare('SELECT * FROM model_versions WHERE version = ?').get(modelVersion) as
      | ModelVersionRow
      | undefined;
    return row ? modelVersionFromRow(row) : null;
  }

  listModelVersions(): ModelVersionRecord[] {
    const rows = this.db.prepare('SELECT * FROM model_versions ORDER BY version').all() as ModelVersionRow[];
    return rows.map(modelVersionFromRow);
  }

  updateModelManifest(modelVersion: number, manifest: Manifest): void {
    this.db
      .prepare('UPDATE model_versions SET manifest = ? WHERE version = ?')
      .run(JSON.stringify(manifest), modelVersion);
  }

  insertSample(sample: NewSample, receivedAt: string): { sample: SampleRecord; duplicate: boolean } {
    const { metadata } = sample;
    const confidence = metadata.topK.reduce((max, s) => Math.max(max, s.confidence), 0);
    const id = `smp-${randomUUID()}`;
    // One transaction: two uploads of the same image racing each other still store one row.
    return this.db
      .transaction(() => {
        const seen =
          this.findSampleByKey(sample.deviceId, metadata.idempotencyKey) ??
          this.findSampleBySha256(sample.sha256);
        if (seen) return { sample: seen, duplicate: true };
        this.db
          .prepare(
            `INSERT INTO samples (id, device_id, idempotency_key, sha256, object_key, content_type, bytes, width,
             height, model_version, frame_id, captured_at, received_at, reason, top_k, confidence, camera_id,
             embedding)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            id,
            sample.deviceId,
            metadata.idempotencyKey,
            sample.sha256,
            sample.objectKey,
            sample.contentType,
            sample.bytes,
            sample.width,
            sample.height,
            metadata.modelVersion,
            metadata.frameId,
            metadata.capturedAt,
            receivedAt,
            metadata.reason,
            JSON.stringify(metadata.topK),
            confidence,
            metadata.cameraId ?? null,
            metadata.embedding ? JSON.stringify(metadata.embedding) : null,
          );
        return { sample: this.getSample(id)!, duplicate: false };
      })
      .immediate();
  }

  findSampleBySha256(sha256: string): SampleRecord | null {
    const row = this.db
      .prepare('SELECT * FROM samples WHERE sha256 = ? ORDER BY received_at, id LIMIT 1')
      .get(sha256) as SampleRow | undefined;
    return row ? sampleFromRow(row) : null;
  }

  findSampleByKey(deviceId: string, idempotencyKey: string): SampleRecord | null {
    const row = this.db
      .prepare('SELECT * FROM samples WHERE device_id = ? AND idempotency_key = ?')
      .get(deviceId, idempotencyKey) as SampleRow | undefined;
    return row ? sampleFromRow(row) : null;
  }

  getSample(sampleId: string): SampleRecord | null {
    const row = this.db.prepare('SELECT * FROM samples WHERE id = ?').get(sampleId) as SampleRow | undefined;
    return row ? sampleFromRow(row) : null;
  }

  listSamples(query: { labelled?: boolean; limit: number; offset: number }) {
    const where =
      query.labelled === undefined ? '' : query.labelled ? 'WHERE label IS NOT NULL' : 'WHERE label IS NULL';
    const rows = this.db
      .prepare(`SELECT * FROM samples ${where} ORDER BY received_at, id LIMIT ? OFFSET ?`)
      .all(query.limit, query.offset) as SampleRow[];
    const { n } = this.db.prepare(`SELECT COUNT(*) AS n FROM samples ${where}`).get() as { n: number };
    return { samples: rows.map(sampleFromRow), total: n };
  }

  markSamplesUsed(sampleIds: readonly string[], modelVersion: number): number {
    const update = this.db.prepare('UPDATE samples SET used_in_model_version = ? WHERE id = ?');
    return this.db
      .transaction(() => {
        let updated = 0;
        for (const id of new Set(sampleIds)) updated += update.run(modelVersion, id).changes;
        return updated;
      })
      .immediate();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
