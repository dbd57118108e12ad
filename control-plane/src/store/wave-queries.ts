/**
 * What one drive of a staged rollout reads, answered in SQL for either rollout table: a rollout
 * is driven every second while it runs and may hold 10,000 devices, so the drive reads counts and
 * the few device ids it acts on, not every device's row (`rollouts/wave-driver.ts`).
 * Times are ISO-8601 strings as the stores write them (`toISOString()`), so they compare as text.
 */
import type { RolloutDeviceState } from '@edgeloop/shared';
import { marks } from './device-report-batch.ts';
import type { SqlDatabase } from './sql.ts';

export type WaveTable = 'rollout_devices' | 'agent_rollout_devices';

export interface WaveSummary {
  /** Devices per state over the whole rollout. */
  counts: Partial<Record<RolloutDeviceState, number>>;
  /** Devices per state in the current wave. */
  waveCounts: Partial<Record<RolloutDeviceState, number>>;
  /** Devices notified after the window's start (the notification pace). */
  notifiedSince: number;
}

/** The reads of one rollout table, as each rollout store exposes them. */
export interface WaveReads {
  summary(rolloutId: string, currentWave: number, windowStart: string): Promise<WaveSummary>;
  /** Devices in one of `states` notified before `notifiedBefore` (late to answer). */
  notifiedBefore(
    rolloutId: string,
    states: readonly RolloutDeviceState[],
    notifiedBefore: string,
  ): Promise<string[]>;
  /** Up to `limit` queued devices of waves up to `throughWave`, in wave and id order. */
  queued(rolloutId: string, throughWave: number, limit: number): Promise<string[]>;
}

export function waveReads(db: SqlDatabase, table: WaveTable): WaveReads {
  const ids = (rows: unknown) => (rows as { device_id: string }[]).map((r) => r.device_id);
  return {
    async summary(rolloutId, currentWave, windowStart) {
      // Grouped by position: the same expression written twice with two parameters is not the
      // same expression to Postgres. Counts come back as text from Postgres (bigint).
      const rows = (await db
        .prepare(
          `SELECT state, CASE WHEN wave = ? THEN 1 ELSE 0 END AS cur, COUNT(*) AS n,
                  SUM(CASE WHEN notified_at > ? THEN 1 ELSE 0 END) AS recent
           FROM ${table} WHERE rollout_id = ? GROUP BY 1, 2`,
        )
        .all(currentWave, windowStart, rolloutId)) as {
        state: RolloutDeviceState;
        cur: number | string;
        n: number | string;
        recent: number | string | null;
      }[];
      const summary: WaveSummary = { counts: {}, waveCounts: {}, notifiedSince: 0 };
      for (const row of rows) {
        const n = Number(row.n);
        summary.counts[row.state] = (summary.counts[row.state] ?? 0) + n;
        if (Number(row.cur) === 1) summary.waveCounts[row.state] = n;
        summary.notifiedSince += Number(row.recent ?? 0);
      }
      return summary;
    },
    async notifiedBefore(rolloutId, states, before) {
      return ids(
        await db
          .prepare(
            `SELECT device_id FROM ${table}
             WHERE rollout_id = ? AND state IN (${marks(states.length)}) AND notified_at < ?
             ORDER BY wave, device_id`,
          )
          .all(rolloutId, ...states, before),
      );
    },
    async queued(rolloutId, throughWave, limit) {
      if (limit <= 0) return [];
      return ids(
        await db
          .prepare(
            `SELECT device_id FROM ${table}
             WHERE rollout_id = ? AND state = 'queued' AND wave <= ?
             ORDER BY wave, device_id LIMIT ?`,
          )
          .all(rolloutId, throughWave, limit),
      );
    },
  };
}
