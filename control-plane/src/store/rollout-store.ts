/**
 * Rollout records by role, and their SQL, run through `SqlDatabase` on SQLite or Postgres.
 */
import type {
  AssignModel,
  Manifest,
  ModelConfidence,
  RolloutDeviceState,
  RolloutState,
  RolloutStrategy,
  RolloutTransition,
  RolloutWaveStatus,
} from '@edgeloop/shared';
import type { SqlDatabase } from './sql.ts';

export interface RolloutRecord {
  rolloutId: string;
  modelVersion: number;
  target: AssignModel['target'];
  strategy: RolloutStrategy;
  state: RolloutState;
  currentWave: number;
  waves: RolloutWaveStatus[];
  reason: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface RolloutDeviceRecord {
  rolloutId: string;
  deviceId: string;
  wave: number;
  state: RolloutDeviceState;
  previousVersion: number | null;
  reason: string | null;
  notifiedAt: string | null;
  updatedAt: string;
  /** Field confidence of the previous version and of the rollout's version, from the device. */
  baseline: ModelConfidence | null;
  latest: ModelConfidence | null;
}

export interface RolloutStore {
  create(rollout: RolloutRecord, devices: readonly RolloutDeviceRecord[]): Promise<void>;
  get(rolloutId: string): Promise<RolloutRecord | null>;
  list(): Promise<RolloutRecord[]>;
  /** Rollouts the engine still drives (running or paused). */
  listLive(): Promise<RolloutRecord[]>;
  update(
    rolloutId: string,
    patch: Partial<Pick<RolloutRecord, 'state' | 'currentWave' | 'waves' | 'reason'>>,
    at: string,
  ): Promise<void>;
  devices(rolloutId: string): Promise<RolloutDeviceRecord[]>;
  /** This device's entries in every rollout, newest rollout first. */
  entriesOf(deviceId: string): Promise<RolloutDeviceRecord[]>;
  /** Changes a device's state and records the transition, in one transaction. */
  transition(
    rolloutId: string,
    deviceId: string,
    state: RolloutDeviceState,
    reason: string | null,
    at: string,
    notified?: boolean,
  ): Promise<void>;
  /**
   * The transition only if the device is still in state `from` (compare and set); false when
   * another writer moved it first. Replicas record one device's reports concurrently: without
   * this a stale 'downloading' read before an 'active' was written would overwrite it.
   */
  advance(
    rolloutId: string,
    deviceId: string,
    from: RolloutDeviceState,
    state: RolloutDeviceState,
    reason: string | null,
    at: string,
  ): Promise<boolean>;
  /** The same transition for many devices, in one transaction. */
  transitionMany(
    rolloutId: string,
    deviceIds: readonly string[],
    state: RolloutDeviceState,
    reason: string | null,
    at: string,
    notified?: boolean,
  ): Promise<void>;
  setStats(
    rolloutId: string,
    deviceId: string,
    baseline: ModelConfidence | null,
    latest: ModelConfidence | null,
  ): Promise<void>;
  history(rolloutId: string): Promise<Map<string, RolloutTransition[]>>;
  putRollbackManifest(version: number, manifest: Manifest, at: string): Promise<void>;
  getRollbackManifest(version: number): Promise<Manifest | null>;
  /** Deletes rollback manifests last signed before `before` (ISO time); returns how many. */
  pruneRollbackManifests(before: string): Promise<number>;
}

interface RolloutRow {
  id: string;
  model_version: number;
  target: string;
  strategy: string;
  state: RolloutState;
  current_wave: number;
  waves: string;
  reason: string | null;
  created_at: string;
  updated_at: string;
}

interface DeviceRow {
  rollout_id: string;
  device_id: string;
  wave: number;
  state: RolloutDeviceState;
  previous_version: number | null;
  reason: string | null;
  notified_at: string | null;
  updated_at: string;
  baseline: string | null;
  latest: string | null;
}

function rolloutFromRow(r: RolloutRow): RolloutRecord {
  return {
    rolloutId: r.id,
    modelVersion: r.model_version,
    target: JSON.parse(r.target),
    strategy: JSON.parse(r.strategy),
    state: r.state,
    currentWave: r.current_wave,
    waves: JSON.parse(r.waves),
    reason: r.reason,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function deviceFromRow(r: DeviceRow): RolloutDeviceRecord {
  return {
    rolloutId: r.rollout_id,
    deviceId: r.device_id,
    wave: r.wave,
    state: r.state,
    previousVersion: r.previous_version,
    reason: r.reason,
    notifiedAt: r.notified_at,
    updatedAt: r.updated_at,
    baseline: r.baseline === null ? null : JSON.parse(r.baseline),
    latest: r.latest === null ? null : JSON.parse(r.latest),
  };
}

const json = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));

export function createSqlRolloutStore(db: SqlDatabase): RolloutStore {
  return {
    async create(rollout, devices) {
      await db.transaction(async (tx) => {
        await tx
          .prepare(
            `INSERT INTO rollouts (id, model_version, target, strategy, state, current_wave, waves, reason,
             created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            rollout.rolloutId,
            rollout.modelVersion,
            JSON.stringify(rollout.target),
            JSON.stringify(rollout.strategy),
            rollout.state,
            rollout.currentWave,
            JSON.stringify(rollout.waves),
            rollout.reason,
            rollout.createdAt,
            rollout.updatedAt,
          );
        const insert = tx.prepare(
          `INSERT INTO rollout_devices (rollout_id, device_id, wave, state, previous_version, reason,
             notified_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        );
        const history = tx.prepare(
          'INSERT INTO rollout_transitions (rollout_id, device_id, state, at, reason) VALUES (?, ?, ?, ?, ?)',
        );
        for (const d of devices) {
          await insert.run(
            d.rolloutId,
            d.deviceId,
            d.wave,
            d.state,
            d.previousVersion,
            d.reason,
            null,
            d.updatedAt,
          );
          await history.run(d.rolloutId, d.deviceId, d.state, d.updatedAt, d.reason);
        }
      });
    },
    async get(rolloutId) {
      const row = (await db.prepare('SELECT * FROM rollouts WHERE id = ?').get(rolloutId)) as
        | RolloutRow
        | undefined;
      return row ? rolloutFromRow(row) : null;
    },
    async list() {
      return ((await db.prepare('SELECT * FROM rollouts ORDER BY created_at, id').all()) as RolloutRow[]).map(
        rolloutFromRow,
      );
    },
    async listLive() {
      return (
        (await db
          .prepare("SELECT * FROM rollouts WHERE state IN ('running', 'paused') ORDER BY created_at, id")
          .all()) as RolloutRow[]
      ).map(rolloutFromRow);
    },
    async update(rolloutId, patch, at) {
      const current = await this.get(rolloutId);
      if (!current) return;
      const next = { ...current, ...patch };
      await db
        .prepare(
          'UPDATE rollouts SET state = ?, current_wave = ?, waves = ?, reason = ?, updated_at = ? WHERE id = ?',
        )
        .run(next.state, next.currentWave, JSON.stringify(next.waves), next.reason, at, rolloutId);
    },
    async devices(rolloutId) {
      return (
        (await db
          .prepare('SELECT * FROM rollout_devices WHERE rollout_id = ? ORDER BY wave, device_id')
          .all(rolloutId)) as DeviceRow[]
      ).map(deviceFromRow);
    },
    async entriesOf(deviceId) {
      return (
        (await db
          .prepare(
            `SELECT d.* FROM rollout_devices d JOIN rollouts r ON r.id = d.rollout_id
             WHERE d.device_id = ? ORDER BY r.created_at DESC, r.id DESC`,
          )
          .all(deviceId)) as DeviceRow[]
      ).map(deviceFromRow);
    },
    async transition(rolloutId, deviceId, state, reason, at, notified = false) {
      await this.transitionMany(rolloutId, [deviceId], state, reason, at, notified);
    },
    advance(rolloutId, deviceId, from, state, reason, at) {
      return db.transaction(async (tx) => {
        const { changes } = await tx
          .prepare(
            `UPDATE rollout_devices SET state = ?, reason = ?, updated_at = ?
             WHERE rollout_id = ? AND device_id = ? AND state = ?`,
          )
          .run(state, reason, at, rolloutId, deviceId, from);
        if (changes === 0) return false;
        await tx
          .prepare(
            'INSERT INTO rollout_transitions (rollout_id, device_id, state, at, reason) VALUES (?, ?, ?, ?, ?)',
          )
          .run(rolloutId, deviceId, state, at, reason);
        return true;
      });
    },
    async transitionMany(rolloutId, deviceIds, state, reason, at, notified = false) {
      await db.transaction(async (tx) => {
        for (const deviceId of deviceIds) {
          await tx
            .prepare(
              `UPDATE rollout_devices SET state = ?, reason = ?, updated_at = ?,
                 notified_at = CASE WHEN ? = 1 THEN ? ELSE notified_at END
               WHERE rollout_id = ? AND device_id = ?`,
            )
            .run(state, reason, at, notified ? 1 : 0, at, rolloutId, deviceId);
          await tx
            .prepare(
              'INSERT INTO rollout_transitions (rollout_id, device_id, state, at, reason) VALUES (?, ?, ?, ?, ?)',
            )
            .run(rolloutId, deviceId, state, at, reason);
        }
      });
    },
    async setStats(rolloutId, deviceId, baseline, latest) {
      await db
        .prepare('UPDATE rollout_devices SET baseline = ?, latest = ? WHERE rollout_id = ? AND device_id = ?')
        .run(json(baseline), json(latest), rolloutId, deviceId);
    },
    async history(rolloutId) {
      const rows = (await db
        .prepare(
          'SELECT device_id, state, at, reason FROM rollout_transitions WHERE rollout_id = ? ORDER BY id',
        )
        .all(rolloutId)) as {
        device_id: string;
        state: RolloutDeviceState;
        at: string;
        reason: string | null;
      }[];
      const out = new Map<string, RolloutTransition[]>();
      for (const r of rows) {
        const list = out.get(r.device_id) ?? [];
        list.push({ state: r.state, at: r.at, reason: r.reason });
        out.set(r.device_id, list);
      }
      return out;
    },
    async putRollbackManifest(version, manifest, at) {
      await db
        .prepare(
          `INSERT INTO rollback_manifests (version, manifest, signed_at) VALUES (?, ?, ?)
         ON CONFLICT (version) DO UPDATE SET manifest = excluded.manifest, signed_at = excluded.signed_at`,
        )
        .run(version, JSON.stringify(manifest), at);
    },
    async pruneRollbackManifests(before) {
      return (await db.prepare('DELETE FROM rollback_manifests WHERE signed_at < ?').run(before)).changes;
    },
    async getRollbackManifest(version) {
      const row = (await db
        .prepare('SELECT manifest FROM rollback_manifests WHERE version = ?')
        .get(version)) as { manifest: string } | undefined;
      return row ? (JSON.parse(row.manifest) as Manifest) : null;
    },
  };
}
