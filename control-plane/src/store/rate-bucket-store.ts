/**
 * Token buckets in the database, so every control-plane replica spends from the same budget (the
 * credential guard's per-address and per-identity attempts). One statement per take: the upsert
 * refills the bucket from its last update, spends `cost` when it holds that much, and returns
 * what it decided — atomic on both engines without a read-then-write race between replicas.
 */
import type { SqlDatabase } from './sql.ts';

export interface BucketPolicy {
  burst: number;
  /** Tokens earned back per millisecond. */
  perMs: number;
}

export interface RateBucketStore {
  /** Spends `cost` from `key` at time `now` (ms); returns whether it did and the tokens left. */
  take(
    key: string,
    cost: number,
    policy: BucketPolicy,
    now: number,
  ): Promise<{ allowed: boolean; tokens: number }>;
  /** Gives `cost` back to `key`, never above the burst. */
  refund(key: string, cost: number, policy: BucketPolicy): Promise<void>;
  /** Forgets buckets under `prefix` untouched since `before` (ms): they would be full again. */
  prune(prefix: string, before: number): Promise<number>;
}

export function createSqlRateBucketStore(db: SqlDatabase): RateBucketStore {
  return {
    async take(key, cost, { burst, perMs }, now) {
      // The refilled level, capped at the burst, written out in each place it is used (portable
      // SQL has no two-argument MIN/LEAST on both engines). SET reads the row's old values.
      // Casts so Postgres types the parameters as numbers (it would guess BIGINT for the rate).
      const refilled = 'rate_buckets.tokens + (? - rate_buckets.at) * CAST(? AS DOUBLE PRECISION)';
      const level = `CASE WHEN ${refilled} > ? THEN CAST(? AS DOUBLE PRECISION) ELSE ${refilled} END`;
      const levelArgs = [now, perMs, burst, burst, now, perMs];
      const fresh = burst >= cost;
      const row = (await db
        .prepare(
          `INSERT INTO rate_buckets (key, tokens, at, allowed) VALUES (?, ?, ?, ?)
           ON CONFLICT (key) DO UPDATE SET
             tokens = CASE WHEN ${level} >= ? THEN ${level} - ? ELSE ${level} END,
             allowed = CASE WHEN ${level} >= ? THEN 1 ELSE 0 END,
             at = ?
           RETURNING tokens, allowed`,
        )
        .get(
          key,
          fresh ? burst - cost : burst,
          now,
          fresh ? 1 : 0,
          ...levelArgs,
          cost,
          ...levelArgs,
          cost,
          ...levelArgs,
          ...levelArgs,
          cost,
          now,
        )) as { tokens: number; allowed: number | string };
      return { allowed: Number(row.allowed) === 1, tokens: Number(row.tokens) };
    },
    async refund(key, cost, { burst }) {
      await db
        .prepare(
          `UPDATE rate_buckets SET tokens = CASE WHEN tokens + ? > ? THEN ? ELSE tokens + ? END
           WHERE key = ?`,
        )
        .run(cost, burst, burst, cost, key);
    },
    async prune(prefix, before) {
      const result = await db
        .prepare('DELETE FROM rate_buckets WHERE key LIKE ? AND at < ?')
        .run(`${prefix.replace(/[%_\\]/g, '')}%`, before);
      return Number(result.changes ?? 0);
    },
  };
}
