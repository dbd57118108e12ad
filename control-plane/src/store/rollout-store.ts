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
import { chunked, valueRows } from './device-report-batch.ts';
import type { SqlDatabase } from './sql.ts';
import { type WaveReads, waveReads } from './wave-queries.ts';

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

/** An entry with what tracking needs of its rollout (read in the same query). */
export interface TrackedRolloutEntry extends RolloutDeviceRecord {
  modelVersion: number;
}

/** A compare-and-set transition: `deviceId` moves from `from` to `to` only if it is still in `from`. */
export interface RolloutMove {
  rolloutId: string;
  deviceId: string;
  from: RolloutDeviceState;
  to: RolloutDeviceState;
  reason: string | null;
  at: string;
}

/** A device's latest field confidence in a rollout: of its previous version and of the new one. */
export interface RolloutStats {
  rolloutId: string;
  deviceId: string;
  baseline: ModelConfidence | null;
  latest: ModelConfidence | null;
}

/** Entry states no report moves (the rest may still change). */
const SETTLED_SQL = "('active', 'queued', 'rolled_back', 'skipped')";

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
  /** What a drive of a rollout reads (counts and the ids it acts on). */
  readonly waves: WaveReads;
  /**
   * The entries a device's report can still change, for many devices in one read: every entry of
   * a running or paused rollout, and any rollout's entry that is not settled (a timed-out device
   * may still catch up, an aborted rollout's device roll back). Newest rollout first per device.
   */
  trackedEntriesOf(deviceIds: readonly string[]): Promise<Map<string, TrackedRolloutEntry[]>>;
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
  /**
   * What a batch of device reports changed, in one transaction: field-confidence figures, then
   * compare-and-set transitions (one device's successive moves chain, in the order given);
   * returns which moves applied. Each applied move is recorded in the history.
   */
  applyTracking(moves: readonly RolloutMove[], stats?: readonly RolloutStats[]): Promise<boolean[]>;
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
    waves: waveReads(db, 'rollout_devices'),
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
    async trackedEntriesOf(deviceIds) {
      const out = new Map<string, TrackedRolloutEntry[]>();
      for (const chunk of chunked([...new Set(deviceIds)])) {
        const rows = (await db
          .prepare(
            `SELECT d.*, r.model_version AS rollout_model_version FROM rollout_devices d
             JOIN rollouts r ON r.id = d.rollout_id
             WHERE d.device_id IN (${chunk.map(() => '?').join(', ')})
               AND (r.state IN ('running', 'paused') OR d.state NOT IN ${SETTLED_SQL})
             ORDER BY r.created_at DESC, r.id DESC`,
          )
          .all(...chunk)) as (DeviceRow & { rollout_model_version: number })[];
        for (const row of rows) {
          const list = out.get(row.device_id) ?? [];
          list.push({ ...deviceFromRow(row), modelVersion: row.rollout_model_version });
          out.set(row.device_id, list);
        }
      }
      return out;
    },
    async applyTracking(moves, stats = []) {
      if (moves.length === 0 && stats.length === 0) return [];
      // Rows are locked in one order (rollout, device) by every batch, so two replicas' batches
      // cannot deadlock on each other; a device's own moves keep their order.
      const rows = new Map<string, { stats?: RolloutStats; moves: number[] }>();
      const rowOf = (rolloutId: string, deviceId: string) => {
        const key = `${rolloutId}\u0000${deviceId}`;
        const row = rows.get(key) ?? { moves: [] };
        rows.set(key, row);
        return row;
      };
      for (const s of stats) rowOf(s.rolloutId, s.deviceId).stats = s;
      moves.forEach((m, i) => {
        rowOf(m.rolloutId, m.deviceId).moves.push(i);
      });
      const keys = [...rows.keys()].sort();
      return db.transaction(async (tx) => {
        const applied = moves.map(() => false);
        const recorded: RolloutMove[] = [];
        for (const key of keys) {
          const row = rows.get(key)!;
          if (row.stats) {
            const s = row.stats;
            await tx
              .prepare(
                'UPDATE rollout_devices SET baseline = ?, latest = ? WHERE rollout_id = ? AND device_id = ?',
              )
              .run(json(s.baseline), json(s.latest), s.rolloutId, s.deviceId);
          }
          for (const i of row.moves) {
            const m = moves[i]!;
            const { changes } = await tx
              .prepare(
                `UPDATE rollout_devices SET state = ?, reason = ?, updated_at = ?
                 WHERE rollout_id = ? AND device_id = ? AND state = ?`,
              )
              .run(m.to, m.reason, m.at, m.rolloutId, m.deviceId, m.from);
            applied[i] = changes > 0;
            if (applied[i]) recorded.push(m);
          }
        }
        for (const chunk of chunked(recorded)) {
          await tx
            .prepare(
              `INSERT INTO rollout_transitions (rollout_id, device_id, state, at, reason) VALUES ${valueRows(chunk.length, 5)}`,
            )
            .run(...chunk.flatMap((m) => [m.rolloutId, m.deviceId, m.to, m.at, m.reason]));
        }
        return applied;
      });
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
      // A wave tells thousands of devices at once: a statement per chunk, not two per device.
      // Sorted chunks: rows are taken in roughly the order applyTracking takes them (see there).
      await db.transaction(async (tx) => {
        for (const chunk of chunked([...new Set(deviceIds)].sort())) {
          await tx
            .prepare(
              `UPDATE rollout_devices SET state = ?, reason = ?, updated_at = ?,
                 notified_at = CASE WHEN ? = 1 THEN ? ELSE notified_at END
               WHERE rollout_id = ? AND device_id IN (${chunk.map(() => '?').join(', ')})`,
            )
            .run(state, reason, at, notified ? 1 : 0, at, rolloutId, ...chunk);
          await tx
            .prepare(
              `INSERT INTO rollout_transitions (rollout_id, device_id, state, at, reason) VALUES ${valueRows(chunk.length, 5)}`,
            )
            .run(...chunk.flatMap((deviceId) => [rolloutId, deviceId, state, at, reason]));
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
