/**
 * Devices, their enrollment tokens and what they report (state, status, predictions), in
 * portable SQL on a `SqlDatabase` (SQLite or Postgres).
 */
import {
  ConflictError,
  type DeviceStatus,
  type Prediction,
  type ReportedState,
  UnauthorizedError,
} from '@edgeloop/shared';
import { chunked, writeDeviceReports } from './device-report-batch.ts';
import { hasAllTagsSql, replaceDeviceTags } from './device-tags.ts';
import type {
  CameraPrediction,
  DeviceRecord,
  DeviceReport,
  DeviceTarget,
  EnrollmentTokenRecord,
  NewDevice,
} from './records.ts';
import { DEVICE_SELECT, type DeviceRow, deviceFromRow } from './rows.ts';
import type { SqlDatabase } from './sql.ts';

/** How many recent predictions are kept per device; older ones only count in prediction_stats. */
export const RECENT_PREDICTIONS_PER_DEVICE = 100;

export interface DeviceStore {
  createEnrollmentToken(token: EnrollmentTokenRecord): Promise<void>;
  /**
   * In one transaction: spends one use of the token and creates the device (or, with a
   * re-enrollment token and an id that exists in its group, gives that device a new secret).
   * Throws UnauthorizedError (unknown, expired or used-up token; nothing changes) or
   * ConflictError (device id taken; the token keeps its use).
   */
  enroll(tokenHash: string, device: NewDevice, now: Date): Promise<DeviceRecord>;
  /**
   * Takes back an enrollment whose device could not be given its broker identity: the token gets
   * its use back and, when the enrollment created the device, the device goes (nothing else holds
   * it yet), so the device can enroll again with the same token.
   */
  undoEnrollment(tokenHash: string, deviceId: string, created: boolean): Promise<void>;
  /** Whether a token with this hash exists, has uses left and has not expired (checked before hashing). */
  enrollmentTokenUsable(tokenHash: string, now: Date): Promise<boolean>;
  exists(deviceId: string): Promise<boolean>;
  get(deviceId: string): Promise<DeviceRecord | null>;
  /** The devices among these ids that exist, in the order asked. */
  getMany(deviceIds: readonly string[]): Promise<DeviceRecord[]>;
  secretHash(deviceId: string): Promise<string | null>;
  /** The stored secret hashes of the devices among these ids that exist (one statement per 400). */
  secretHashes(deviceIds: readonly string[]): Promise<Map<string, string>>;
  list(): Promise<DeviceRecord[]>;
  /** Changes a device's group and/or tags; returns the updated device, or null if unknown. */
  update(deviceId: string, update: { group?: string; tags?: string[] }): Promise<DeviceRecord | null>;
  /** Ids matching a target, in id order; explicit ids that do not exist are left out. */
  resolveTarget(target: DeviceTarget): Promise<string[]>;
  /** `manifestPath` null means the version's own manifest. */
  setDesiredVersion(
    deviceIds: readonly string[],
    modelVersion: number | null,
    at: string,
    manifestPath?: string | null,
  ): Promise<void>;
  recordReportedState(deviceId: string, state: ReportedState, receivedAt: string): Promise<void>;
  recordStatus(deviceId: string, status: DeviceStatus, receivedAt: string): Promise<void>;
  recordPrediction(deviceId: string, prediction: Prediction, receivedAt: string): Promise<void>;
  /**
   * Records many reports in one transaction with multi-row statements (device-report-batch.ts):
   * per device the last state and status win, predictions are counted, kept last per camera and
   * in a recent window of `recentPredictionsPerDevice` (default RECENT_PREDICTIONS_PER_DEVICE).
   * Every device must exist (see existingIds).
   */
  recordBatch(
    reports: readonly DeviceReport[],
    options?: { recentPredictionsPerDevice?: number },
  ): Promise<void>;
  /** Which of these ids are enrolled devices. */
  existingIds(deviceIds: readonly string[]): Promise<Set<string>>;
  /** The last prediction of each of the device's cameras, by camera id. */
  cameraPredictions(deviceId: string): Promise<CameraPrediction[]>;
  /** At start: nobody is connected until the broker says so again. */
  markAllOffline(): Promise<void>;
}

export function createSqlDeviceStore(db: SqlDatabase): DeviceStore {
  const store: DeviceStore = {
    async createEnrollmentToken(token) {
      await db
        .prepare(
          'INSERT INTO enrollment_tokens (token_hash, grp, uses_left, expires_at, reenroll) VALUES (?, ?, ?, ?, ?)',
        )
        .run(token.tokenHash, token.group, token.usesLeft, token.expiresAt, token.reenroll ? 1 : 0);
    },

    async enrollmentTokenUsable(tokenHash, now) {
      const token = (await db
        .prepare('SELECT uses_left, expires_at FROM enrollment_tokens WHERE token_hash = ?')
        .get(tokenHash)) as { uses_left: number; expires_at: string } | undefined;
      return token !== undefined && token.uses_left > 0 && Date.parse(token.expires_at) > now.getTime();
    },

    enroll(tokenHash, device, now) {
      return db.transaction(async (tx) => {
        const devices = createSqlDeviceStore(tx);
        const token = (await tx
          .prepare('SELECT grp, expires_at, reenroll FROM enrollment_tokens WHERE token_hash = ?')
          .get(tokenHash)) as { grp: string; expires_at: string; reenroll: number } | undefined;
        const unusable = () => new UnauthorizedError('enrollment token is unknown, expired or used up');
        if (!token || Date.parse(token.expires_at) <= now.getTime()) throw unusable();
        // The use is spent by a conditional update, so two enrollments racing for the last use
        // cannot both win on Postgres either (the second waits for the first's row lock).
        const spent = await tx
          .prepare(
            'UPDATE enrollment_tokens SET uses_left = uses_left - 1 WHERE token_hash = ? AND uses_left > 0',
          )
          .run(tokenHash);
        if (spent.changes === 0) throw unusable();
        const existing = await devices.get(device.deviceId);
        if (existing && !(Number(token.reenroll) === 1 && existing.group === token.grp)) {
          throw new ConflictError(`device '${device.deviceId}' already exists`);
        }
        if (existing) {
          // Re-enrollment after a wipe: a new secret, nothing reported yet; group, tags, pin,
          // desired state and history stay (the operator's record of the device).
          await tx
            .prepare(
              `UPDATE devices SET secret_hash = ?, name = COALESCE(?, name), hardware = COALESCE(?, hardware),
                 reported_version = NULL, status = NULL, detail = NULL, health = NULL WHERE id = ?`,
            )
            .run(device.secretHash, device.name, device.hardware, device.deviceId);
        } else {
          const inserted = await tx
            .prepare(
              `INSERT INTO devices (id, name, grp, hardware, secret_hash, enrolled_at, tags)
               VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
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
          // Another enrollment created the same id meanwhile (Postgres, concurrent transactions).
          if (inserted.changes === 0) throw new ConflictError(`device '${device.deviceId}' already exists`);
          await replaceDeviceTags(tx, device.deviceId, device.tags ?? []);
        }
        return (await devices.get(device.deviceId))!;
      });
    },

    undoEnrollment(tokenHash, deviceId, created) {
      return db.transaction(async (tx) => {
        await tx
          .prepare('UPDATE enrollment_tokens SET uses_left = uses_left + 1 WHERE token_hash = ?')
          .run(tokenHash);
        if (!created) return;
        await tx.prepare('DELETE FROM device_tags WHERE device_id = ?').run(deviceId);
        await tx.prepare('DELETE FROM device_identity WHERE device_id = ?').run(deviceId);
        await tx.prepare('DELETE FROM devices WHERE id = ?').run(deviceId);
      });
    },

    async exists(deviceId) {
      return (await db.prepare('SELECT 1 AS one FROM devices WHERE id = ?').get(deviceId)) !== undefined;
    },

    async get(deviceId) {
      const row = (await db.prepare(`${DEVICE_SELECT} WHERE d.id = ?`).get(deviceId)) as
        | DeviceRow
        | undefined;
      return row ? deviceFromRow(row) : null;
    },

    async getMany(deviceIds) {
      const found = new Map<string, DeviceRecord>();
      const ids = [...new Set(deviceIds)];
      // Chunks keep each statement under both engines' parameter limits.
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500);
        const rows = (await db
          .prepare(`${DEVICE_SELECT} WHERE d.id IN (${chunk.map(() => '?').join(',')})`)
          .all(...chunk)) as DeviceRow[];
        for (const row of rows) found.set(row.id, deviceFromRow(row));
      }
      return deviceIds.flatMap((id) => found.get(id) ?? []);
    },

    async secretHash(deviceId) {
      const row = (await db.prepare('SELECT secret_hash FROM devices WHERE id = ?').get(deviceId)) as
        | { secret_hash: string }
        | undefined;
      return row?.secret_hash ?? null;
    },

    async secretHashes(deviceIds) {
      const found = new Map<string, string>();
      for (const chunk of chunked([...new Set(deviceIds)])) {
        const rows = (await db
          .prepare(`SELECT id, secret_hash FROM devices WHERE id IN (${chunk.map(() => '?').join(', ')})`)
          .all(...chunk)) as { id: string; secret_hash: string }[];
        for (const row of rows) found.set(row.id, row.secret_hash);
      }
      return found;
    },

    async list() {
      const rows = (await db.prepare(`${DEVICE_SELECT} ORDER BY d.id`).all()) as DeviceRow[];
      return rows.map(deviceFromRow);
    },

    async update(deviceId, update) {
      const changed = await db.transaction(async (tx) => {
        const result = await tx
          .prepare(
            'UPDATE devices SET grp = COALESCE(?, grp), tags = COALESCE(?, tags), edited_at = ? WHERE id = ?',
          )
          .run(
            update.group ?? null,
            update.tags ? JSON.stringify(update.tags) : null,
            new Date().toISOString(),
            deviceId,
          );
        if (result.changes > 0 && update.tags) await replaceDeviceTags(tx, deviceId, update.tags);
        return result.changes > 0;
      });
      return changed ? store.get(deviceId) : null;
    },

    async resolveTarget(target) {
      let rows: { id: string }[];
      if ('deviceIds' in target) {
        const ids = [...new Set(target.deviceIds)];
        if (ids.length === 0) return [];
        rows = (await db
          .prepare(`SELECT id FROM devices WHERE id IN (${ids.map(() => '?').join(',')}) ORDER BY id`)
          .all(...ids)) as { id: string }[];
      } else if ('group' in target) {
        rows = (await db.prepare('SELECT id FROM devices WHERE grp = ? ORDER BY id').all(target.group)) as {
          id: string;
        }[];
      } else if ('tags' in target) {
        const tags = [...new Set(target.tags)];
        rows = (await db
          .prepare(`SELECT id FROM devices d WHERE ${hasAllTagsSql(tags.length)} ORDER BY id`)
          .all(...tags)) as { id: string }[];
      } else {
        rows = (await db.prepare('SELECT id FROM devices ORDER BY id').all()) as { id: string }[];
      }
      return rows.map((r) => r.id);
    },

    async setDesiredVersion(deviceIds, modelVersion, at, manifestPath = null) {
      await db.transaction(async (tx) => {
        const update = tx.prepare(
          'UPDATE devices SET desired_version = ?, desired_updated_at = ?, desired_manifest_path = ? WHERE id = ?',
        );
        for (const id of deviceIds) await update.run(modelVersion, at, manifestPath, id);
      });
    },

    recordReportedState: (deviceId, state, receivedAt) =>
      store.recordBatch([{ kind: 'state', deviceId, state, receivedAt }]),
    recordStatus: (deviceId, status, receivedAt) =>
      store.recordBatch([{ kind: 'status', deviceId, status, receivedAt }]),
    recordPrediction: (deviceId, prediction, receivedAt) =>
      store.recordBatch([{ kind: 'prediction', deviceId, prediction, receivedAt }]),

    recordBatch(reports, options = {}) {
      const keep = options.recentPredictionsPerDevice ?? RECENT_PREDICTIONS_PER_DEVICE;
      return db.transaction((tx) => writeDeviceReports(tx, reports, keep));
    },

    async existingIds(deviceIds) {
      const found = new Set<string>();
      for (const chunk of chunked([...new Set(deviceIds)])) {
        const rows = (await db
          .prepare(`SELECT id FROM devices WHERE id IN (${chunk.map(() => '?').join(',')})`)
          .all(...chunk)) as { id: string }[];
        for (const row of rows) found.add(row.id);
      }
      return found;
    },

    async cameraPredictions(deviceId) {
      const rows = (await db
        .prepare(
          'SELECT camera_id, prediction, received_at FROM camera_predictions WHERE device_id = ? ORDER BY camera_id',
        )
        .all(deviceId)) as { camera_id: string; prediction: string; received_at: string }[];
      return rows.map((r) => ({
        cameraId: r.camera_id,
        prediction: JSON.parse(r.prediction) as Prediction,
        receivedAt: r.received_at,
      }));
    },

    async markAllOffline() {
      await db.prepare('UPDATE devices SET online = 0').run();
    },
  };
  return store;
}
