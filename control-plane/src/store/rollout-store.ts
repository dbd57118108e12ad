/**
 * Rollout records by role, and their SQL. The SQL runs on the database handle sqlite-store.ts
 * opens (the one importer of better-sqlite3); this file sees it only through `SqlDatabase`.
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
  create(rollout: RolloutRecord, devices: readonly RolloutDeviceRecord[]): void;
  get(rolloutId: string): RolloutRecord | null;
  list(): RolloutRecord[];
  /** Rollouts the engine still drives (running or paused). */
  listLive(): RolloutRecord[];
  update(
    rolloutId: string,
    patch: Partial<Pick<RolloutRecord, 'state' | 'currentWave' | 'waves' | 'reason'>>,
    at: string,
  ): void;
  devices(rolloutId: string): RolloutDeviceRecord[];
  /** This device's entries in every rollout, newest rollout first. */
  entriesOf(deviceId: string): RolloutDeviceRecord[];
  /** Changes a device's state and records the transition, in one transaction. */
  transition(
    rolloutId: string,
    deviceId: string,
    state: RolloutDeviceState,
    reason: string | null,
    at: string,
    notified?: boolean,
  ): void;
  /** The same transition for many devices, in one transaction. */
  transitionMany(
    rolloutId: string,
    deviceIds: readonly string[],
    state: RolloutDeviceState,
    reason: string | null,
    at: string,
    notified?: boolean,
  ): void;
  setStats(
    rolloutId: string,
    deviceId: string,
    baseline: ModelConfidence | null,
    latest: ModelConfidence | null,
  ): void;
  history(rolloutId: string): Map<string, RolloutTransition[]>;
  putRollbackManifest(version: number, manifest: Manifest, at: string): void;
  getRollbackManifest(version: number): Manifest | null;
  /** Deletes rollback manifests last signed before `before` (ISO time); returns how many. */
  pruneRollbackManifests(before: string): number;
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
    create(rollout, devices) {
      db.transaction(() => {
        db.prepare(
          `INSERT INTO rollouts (id, model_version, target, strategy, state, current_wave, waves, reason,
             created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
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
        const insert = db.prepare(
          `INSERT INTO rollout_devices (rollout_id, device_id, wave, state, previous_version, reason,
             notified_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        );
        const history = db.prepare(
          'INSERT INTO rollout_transitions (rollout_id, device_id, state, at, reason) VALUES (?, ?, ?, ?, ?)',
        );
        for (const d of devices) {
          insert.run(
            d.rolloutId,
            d.deviceId,
            d.wave,
            d.state,
            d.previousVersion,
            d.reason,
            null,
            d.updatedAt,
          );
          history.run(d.rolloutId, d.deviceId, d.state, d.updatedAt, d.reason);
        }
      })();
    },
    get(rolloutId) {
      const row = db.prepare('SELECT * FROM rollouts WHERE id = ?').get(rolloutId) as RolloutRow | undefined;
      return row ? rolloutFromRow(row) : null;
    },
    list() {
      return (db.prepare('SELECT * FROM rollouts ORDER BY created_at, id').all() as RolloutRow[]).map(
        rolloutFromRow,
      );
    },
    listLive() {
      return (
        db
          .prepare("SELECT * FROM rollouts WHERE state IN ('running', 'paused') ORDER BY created_at, id")
          .all() as RolloutRow[]
      ).map(rolloutFromRow);
    },
    update(rolloutId, patch, at) {
      const current = this.get(rolloutId);
      if (!current) return;
      const next = { ...current, ...patch };
      db.prepare(
        'UPDATE rollouts SET state = ?, current_wave = ?, waves = ?, reason = ?, updated_at = ? WHERE id = ?',
      ).run(next.state, next.currentWave, JSON.stringify(next.waves), next.reason, at, rolloutId);
    },
    devices(rolloutId) {
      return (
        db
          .prepare('SELECT * FROM rollout_devices WHERE rollout_id = ? ORDER BY wave, device_id')
          .all(rolloutId) as DeviceRow[]
      ).map(deviceFromRow);
    },
    entriesOf(deviceId) {
      return (
        db
          .prepare(
            `SELECT d.* FROM rollout_devices d JOIN rollouts r ON r.id = d.rollout_id
             WHERE d.device_id = ? ORDER BY r.created_at DESC, r.id DESC`,
          )
          .all(deviceId) as DeviceRow[]
      ).map(deviceFromRow);
    },
    transition(rolloutId, deviceId, state, reason, at, notified = false) {
      this.transitionMany(rolloutId, [deviceId], state, reason, at, notified);
    },
    transitionMany(rolloutId, deviceIds, state, reason, at, notified = false) {
      db.transaction(() => {
        for (const deviceId of deviceIds) {
          db.prepare(
            `UPDATE rollout_devices SET state = ?, reason = ?, updated_at = ?,
             notified_at = CASE WHEN ? THEN ? ELSE notified_at END
           WHERE rollout_id = ? AND device_id = ?`,
          ).run(state, reason, at, notified ? 1 : 0, at, rolloutId, deviceId);
          db.prepare(
            'INSERT INTO rollout_transitions (rollout_id, device_id, state, at, reason) VALUES (?, ?, ?, ?, ?)',
          ).run(rolloutId, deviceId, state, at, reason);
        }
      })();
    },
    setStats(rolloutId, deviceId, baseline, latest) {
      db.prepare(
        'UPDATE rollout_devices SET baseline = ?, latest = ? WHERE rollout_id = ? AND device_id = ?',
      ).run(json(baseline), json(latest), rolloutId, deviceId);
    },
    history(rolloutId) {
      const rows = db
        .prepare(
          'SELECT device_id, state, at, reason FROM rollout_transitions WHERE rollout_id = ? ORDER BY id',
        )
        .all(rolloutId) as {
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
    putRollbackManifest(version, manifest, at) {
      db.prepare(
        `INSERT INTO rollback_manifests (version, manifest, signed_at) VALUES (?, ?, ?)
         ON CONFLICT (version) DO UPDATE SET manifest = excluded.manifest, signed_at = excluded.signed_at`,
      ).run(version, JSON.stringify(manifest), at);
    },
    pruneRollbackManifests(before) {
      return db.prepare('DELETE FROM rollback_manifests WHERE signed_at < ?').run(before).changes;
    },
    getRollbackManifest(version) {
      const row = db.prepare('SELECT manifest FROM rollback_manifests WHERE version = ?').get(version) as
        | { manifest: string }
        | undefined;
      return row ? (JSON.parse(row.manifest) as Manifest) : null;
    },
  };
}
