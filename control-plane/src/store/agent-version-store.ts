/**
 * Agent versions, each device's desired agent version, and agent rollouts, with their SQL
 * (portable: runs on SQLite and Postgres). Seen through `SqlDatabase` like the other stores.
 */
import type {
  AgentArch,
  AgentVersionSummary,
  AssignModel,
  BundleManifest,
  RolloutDeviceState,
  RolloutState,
  RolloutStrategy,
  RolloutTransition,
  RolloutWaveStatus,
} from '@edgeloop/shared';
import { chunked } from './device-report-batch.ts';
import type { SqlDatabase } from './sql.ts';
import { type WaveReads, waveReads } from './wave-queries.ts';

/** A device's transitions kept per rollout entry: enough to read what happened, bounded. */
const HISTORY_MAX = 20;

export interface AgentVersionRecord extends AgentVersionSummary {
  objectKey: string;
  manifest: BundleManifest;
}

/** Device ids per statement in desiredOfMany: well inside every engine's parameter limit. */
const DESIRED_CHUNK = 500;

export interface DesiredAgentRecord {
  agentVersion: string;
  rollback: boolean;
  updatedAt: string;
}

export interface AgentRolloutRecord {
  rolloutId: string;
  agentVersion: string;
  target: AssignModel['target'];
  strategy: RolloutStrategy;
  state: RolloutState;
  currentWave: number;
  waves: RolloutWaveStatus[];
  reason: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface AgentRolloutDeviceRecord {
  rolloutId: string;
  deviceId: string;
  wave: number;
  state: RolloutDeviceState;
  previousVersion: string | null;
  reason: string | null;
  notifiedAt: string | null;
  updatedAt: string;
  history: RolloutTransition[];
}

interface VersionRow {
  agent_version: string;
  arch: AgentArch;
  sha256: string;
  bytes: number;
  object_key: string;
  manifest: string;
  signer_key_id: string;
  node_bundled: number;
  created_at: string;
  published_at: string;
}

interface RolloutRow {
  id: string;
  agent_version: string;
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
  previous_version: string | null;
  reason: string | null;
  notified_at: string | null;
  updated_at: string;
  history: string;
}

const versionOf = (r: VersionRow): AgentVersionRecord => ({
  agentVersion: r.agent_version,
  arch: r.arch,
  sha256: r.sha256,
  bytes: Number(r.bytes),
  objectKey: r.object_key,
  manifest: JSON.parse(r.manifest),
  signerKeyId: r.signer_key_id,
  nodeBundled: r.node_bundled === 1,
  createdAt: r.created_at,
  publishedAt: r.published_at,
});

const rolloutOf = (r: RolloutRow): AgentRolloutRecord => ({
  rolloutId: r.id,
  agentVersion: r.agent_version,
  target: JSON.parse(r.target),
  strategy: JSON.parse(r.strategy),
  state: r.state,
  currentWave: r.current_wave,
  waves: JSON.parse(r.waves),
  reason: r.reason,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const deviceOf = (r: DeviceRow): AgentRolloutDeviceRecord => ({
  rolloutId: r.rollout_id,
  deviceId: r.device_id,
  wave: r.wave,
  state: r.state,
  previousVersion: r.previous_version,
  reason: r.reason,
  notifiedAt: r.notified_at,
  updatedAt: r.updated_at,
  history: JSON.parse(r.history),
});

export class SqlAgentVersionStore {
  /** What a drive of an agent rollout reads (counts and the ids it acts on). */
  readonly waves: WaveReads;
  constructor(private readonly sql: SqlDatabase) {
    this.waves = waveReads(sql, 'agent_rollout_devices');
  }

  async addVersion(v: AgentVersionRecord): Promise<void> {
    await this.sql
      .prepare(
        `INSERT INTO agent_versions (agent_version, arch, sha256, bytes, object_key, manifest,
           signer_key_id, node_bundled, created_at, published_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        v.agentVersion,
        v.arch,
        v.sha256,
        v.bytes,
        v.objectKey,
        JSON.stringify(v.manifest),
        v.signerKeyId,
        v.nodeBundled ? 1 : 0,
        v.createdAt,
        v.publishedAt,
      );
  }

  async getVersion(agentVersion: string, arch: AgentArch): Promise<AgentVersionRecord | null> {
    const row = (await this.sql
      .prepare('SELECT * FROM agent_versions WHERE agent_version = ? AND arch = ?')
      .get(agentVersion, arch)) as VersionRow | undefined;
    return row ? versionOf(row) : null;
  }

  /** Every architecture's bundle of one version. */
  async bundlesOf(agentVersion: string): Promise<AgentVersionRecord[]> {
    const rows = (await this.sql
      .prepare('SELECT * FROM agent_versions WHERE agent_version = ? ORDER BY arch')
      .all(agentVersion)) as VersionRow[];
    return rows.map(versionOf);
  }

  async listVersions(): Promise<AgentVersionRecord[]> {
    const rows = (await this.sql
      .prepare('SELECT * FROM agent_versions ORDER BY published_at DESC, agent_version DESC, arch')
      .all()) as VersionRow[];
    return rows.map(versionOf);
  }

  async desiredOf(deviceId: string): Promise<DesiredAgentRecord | null> {
    const row = (await this.sql
      .prepare('SELECT agent_version, rollback, updated_at FROM device_agent_desired WHERE device_id = ?')
      .get(deviceId)) as { agent_version: string; rollback: number; updated_at: string } | undefined;
    return row
      ? { agentVersion: row.agent_version, rollback: Number(row.rollback) === 1, updatedAt: row.updated_at }
      : null;
  }

  /** desiredOf for many devices with one statement per few hundred: only devices that have one. */
  async desiredOfMany(deviceIds: readonly string[]): Promise<Map<string, DesiredAgentRecord>> {
    const out = new Map<string, DesiredAgentRecord>();
    const ids = [...new Set(deviceIds)];
    for (let i = 0; i < ids.length; i += DESIRED_CHUNK) {
      const chunk = ids.slice(i, i + DESIRED_CHUNK);
      const rows = (await this.sql
        .prepare(
          `SELECT device_id, agent_version, rollback, updated_at FROM device_agent_desired
           WHERE device_id IN (${chunk.map(() => '?').join(', ')})`,
        )
        .all(...chunk)) as {
        device_id: string;
        agent_version: string;
        rollback: number;
        updated_at: string;
      }[];
      for (const row of rows) {
        out.set(row.device_id, {
          agentVersion: row.agent_version,
          rollback: Number(row.rollback) === 1,
          updatedAt: row.updated_at,
        });
      }
    }
    return out;
  }

  /** `agentVersion` null: no desired agent version (the device keeps what it runs). */
  async setDesired(
    deviceIds: readonly string[],
    agentVersion: string | null,
    rollback: boolean,
    at: string,
  ): Promise<void> {
    await this.sql.transaction(async (tx) => {
      const remove = tx.prepare('DELETE FROM device_agent_desired WHERE device_id = ?');
      const upsert = tx.prepare(
        `INSERT INTO device_agent_desired (device_id, agent_version, rollback, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (device_id) DO UPDATE SET agent_version = excluded.agent_version,
           rollback = excluded.rollback, updated_at = excluded.updated_at`,
      );
      for (const id of deviceIds) {
        if (agentVersion === null) await remove.run(id);
        else await upsert.run(id, agentVersion, rollback ? 1 : 0, at);
      }
    });
  }

  async createRollout(r: AgentRolloutRecord, devices: readonly AgentRolloutDeviceRecord[]): Promise<void> {
    await this.sql.transaction(async (tx) => {
      await tx
        .prepare(
          `INSERT INTO agent_rollouts (id, agent_version, target, strategy, state, current_wave, waves,
             reason, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          r.rolloutId,
          r.agentVersion,
          JSON.stringify(r.target),
          JSON.stringify(r.strategy),
          r.state,
          r.currentWave,
          JSON.stringify(r.waves),
          r.reason,
          r.createdAt,
          r.updatedAt,
        );
      const device = tx.prepare(
        `INSERT INTO agent_rollout_devices (rollout_id, device_id, wave, state, previous_version, reason,
           notified_at, updated_at, history) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      for (const d of devices) {
        await device.run(
          d.rolloutId,
          d.deviceId,
          d.wave,
          d.state,
          d.previousVersion,
          d.reason,
          d.notifiedAt,
          d.updatedAt,
          JSON.stringify(d.history),
        );
      }
    });
  }

  async getRollout(rolloutId: string): Promise<AgentRolloutRecord | null> {
    const row = (await this.sql.prepare('SELECT * FROM agent_rollouts WHERE id = ?').get(rolloutId)) as
      | RolloutRow
      | undefined;
    return row ? rolloutOf(row) : null;
  }

  async listRollouts(): Promise<AgentRolloutRecord[]> {
    const rows = (await this.sql
      .prepare('SELECT * FROM agent_rollouts ORDER BY created_at DESC, id')
      .all()) as RolloutRow[];
    return rows.map(rolloutOf);
  }

  async listLiveRollouts(): Promise<AgentRolloutRecord[]> {
    const rows = (await this.sql
      .prepare("SELECT * FROM agent_rollouts WHERE state IN ('running', 'paused') ORDER BY created_at")
      .all()) as RolloutRow[];
    return rows.map(rolloutOf);
  }

  async updateRollout(
    rolloutId: string,
    patch: Partial<Pick<AgentRolloutRecord, 'state' | 'currentWave' | 'waves' | 'reason'>>,
    at: string,
  ): Promise<void> {
    const r = await this.getRollout(rolloutId);
    if (!r) return;
    const next = { ...r, ...patch };
    await this.sql
      .prepare(
        'UPDATE agent_rollouts SET state = ?, current_wave = ?, waves = ?, reason = ?, updated_at = ? WHERE id = ?',
      )
      .run(next.state, next.currentWave, JSON.stringify(next.waves), next.reason, at, rolloutId);
  }

  async rolloutDevices(rolloutId: string): Promise<AgentRolloutDeviceRecord[]> {
    const rows = (await this.sql
      .prepare('SELECT * FROM agent_rollout_devices WHERE rollout_id = ? ORDER BY wave, device_id')
      .all(rolloutId)) as DeviceRow[];
    return rows.map(deviceOf);
  }

  /** Which of these devices have an entry in a live agent rollout (one read for a batch of reports). */
  async liveDevicesAmong(deviceIds: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (const chunk of chunked([...new Set(deviceIds)])) {
      const rows = (await this.sql
        .prepare(
          `SELECT DISTINCT d.device_id FROM agent_rollout_devices d JOIN agent_rollouts r ON r.id = d.rollout_id
           WHERE d.device_id IN (${chunk.map(() => '?').join(', ')}) AND r.state IN ('running', 'paused', 'aborted')`,
        )
        .all(...chunk)) as { device_id: string }[];
      for (const row of rows) out.add(row.device_id);
    }
    return out;
  }

  /** This device's entries in live agent rollouts. */
  async liveEntriesOf(deviceId: string): Promise<AgentRolloutDeviceRecord[]> {
    const rows = (await this.sql
      .prepare(
        `SELECT d.* FROM agent_rollout_devices d JOIN agent_rollouts r ON r.id = d.rollout_id
         WHERE d.device_id = ? AND r.state IN ('running', 'paused', 'aborted')`,
      )
      .all(deviceId)) as DeviceRow[];
    return rows.map(deviceOf);
  }

  /**
   * Moves one device to `state` only if it is still in `from` (compare-and-set: replicas record
   * one device's reports at once, and a stale read must not write an older phase over a newer
   * one). True when it moved.
   */
  async advance(
    rolloutId: string,
    deviceId: string,
    from: RolloutDeviceState,
    state: RolloutDeviceState,
    reason: string | null,
    at: string,
  ): Promise<boolean> {
    return this.sql.transaction(async (tx) => {
      const { changes } = await tx
        .prepare(
          `UPDATE agent_rollout_devices SET state = ?, reason = ?, updated_at = ?
           WHERE rollout_id = ? AND device_id = ? AND state = ?`,
        )
        .run(state, reason, at, rolloutId, deviceId, from);
      if (changes === 0) return false;
      // The row is ours until commit: its history is read and extended without a race.
      const row = (await tx
        .prepare('SELECT history FROM agent_rollout_devices WHERE rollout_id = ? AND device_id = ?')
        .get(rolloutId, deviceId)) as { history: string };
      const history = [...(JSON.parse(row.history) as RolloutTransition[]), { state, at, reason }];
      await tx
        .prepare('UPDATE agent_rollout_devices SET history = ? WHERE rollout_id = ? AND device_id = ?')
        .run(JSON.stringify(history.slice(-HISTORY_MAX)), rolloutId, deviceId);
      return true;
    });
  }

  /** Moves devices to `state` and appends the transition to their history, in one transaction. */
  async transition(
    rolloutId: string,
    deviceIds: readonly string[],
    state: RolloutDeviceState,
    reason: string | null,
    at: string,
    notified = false,
  ): Promise<void> {
    await this.sql.transaction(async (tx) => {
      const read = tx.prepare(
        'SELECT history, notified_at FROM agent_rollout_devices WHERE rollout_id = ? AND device_id = ?',
      );
      const write = tx.prepare(
        `UPDATE agent_rollout_devices SET state = ?, reason = ?, updated_at = ?, notified_at = ?, history = ?
         WHERE rollout_id = ? AND device_id = ?`,
      );
      for (const id of deviceIds) {
        const row = (await read.get(rolloutId, id)) as
          | { history: string; notified_at: string | null }
          | undefined;
        if (!row) continue;
        const history = [...(JSON.parse(row.history) as RolloutTransition[]), { state, at, reason }];
        await write.run(
          state,
          reason,
          at,
          notified ? at : row.notified_at,
          JSON.stringify(history.slice(-HISTORY_MAX)),
          rolloutId,
          id,
        );
      }
    });
  }
}
