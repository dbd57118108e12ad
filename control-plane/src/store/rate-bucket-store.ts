/**
 * Token buckets in the database, so every control-plane replica spends from the same budget (the
 * credential guard's per-address and per-identity budgets of failed attempts). Reading buckets is
 * one SELECT for all keys asked; a charge is one upsert that refills the bucket from its last
 * update and spends from it in the same statement, atomic on both engines without a
 * read-then-write race between replicas.
 */
import type { SqlDatabase } from './sql.ts';

export interface BucketPolicy {
  burst: number;
  /** Tokens earned back per millisecond. */
  perMs: number;
}

/** A bucket as last written: `tokens` at time `at` (ms), before any refill since. */
export interface BucketRow {
  tokens: number;
  at: number;
}

export interface RateBucketStore {
  /** The buckets among `keys` that exist; a missing one is full. */
  read(keys: readonly string[]): Promise<Map<string, BucketRow>>;
  /**
   * Spends `cost` from `key` at time `now` (ms) even past empty, down to `-burst` at most (a debt
   * that is earned back before the bucket allows again); returns the tokens left.
   */
  charge(key: string, cost: number, policy: BucketPolicy, now: number): Promise<number>;
  /** Forgets buckets under `prefix` untouched since `before` (ms): they would be full again. */
  prune(prefix: string, before: number): Promise<number>;
}

/** The level of `row` at `now`, refilled and capped at the burst; a missing bucket is full. */
export function bucketLevel(row: BucketRow | undefined, { burst, perMs }: BucketPolicy, now: number): number {
  return row ? Math.min(burst, row.tokens + Math.max(0, now - row.at) * perMs) : burst;
}

export function createSqlRateBucketStore(db: SqlDatabase): RateBucketStore {
  return {
    async read(keys) {
      const rows = keys.length
        ? ((await db
            .prepare(
              `SELECT key, tokens, at FROM rate_buckets WHERE key IN (${keys.map(() => '?').join(', ')})`,
            )
            .all(...keys)) as { key: string; tokens: number | string; at: number | string }[])
        : [];
      return new Map(rows.map((r) => [r.key, { tokens: Number(r.tokens), at: Number(r.at) }]));
    },
    async charge(key, cost, { burst, perMs }, now) {
      // The refilled level, capped at the burst, written out in each place it is used (portable
      // SQL has no two-argument MIN/LEAST on both engines). SET reads the row's old values.
      // Casts so Postgres types the parameters as numbers (it would guess BIGINT for the rate).
      const refilled = 'rate_buckets.tokens + (? - rate_buckets.at) * CAST(? AS DOUBLE PRECISION)';
      const level = `CASE WHEN ${refilled} > ? THEN CAST(? AS DOUBLE PRECISION) ELSE ${refilled} END`;
      const levelArgs = [now, perMs, burst, burst, now, perMs];
      const row = (await db
        .prepare(
          `INSERT INTO rate_buckets (key, tokens, at, allowed) VALUES (?, ?, ?, 1)
           ON CONFLICT (key) DO UPDATE SET
             tokens = CASE WHEN ${level} - ? < ? THEN CAST(? AS DOUBLE PRECISION) ELSE ${level} - ? END,
             at = ?
           RETURNING tokens`,
        )
        .get(
          key,
          Math.max(-burst, burst - cost),
          now,
          ...levelArgs,
          cost,
          -burst,
          -burst,
          ...levelArgs,
          cost,
          now,
        )) as { tokens: number | string };
      return Number(row.tokens);
    },
    async prune(prefix, before) {
      const result = await db
        .prepare('DELETE FROM rate_buckets WHERE key LIKE ? AND at < ?')
        .run(`${prefix.replace(/[%_\\]/g, '')}%`, before);
      return Number(result.changes ?? 0);
    },
  };
}

/** The same buckets in one process's memory, the least recently used forgotten past `maxKeys`. */
export function createMemoryRateBucketStore(maxKeys: number): RateBucketStore {
  const rows = new Map<string, BucketRow>();
  return {
    async read(keys) {
      const found = new Map<string, BucketRow>();
      for (const key of keys) {
        const row = rows.get(key);
        if (row) found.set(key, { ...row });
      }
      return found;
    },
    async charge(key, cost, policy, now) {
      const tokens = Math.max(-policy.burst, bucketLevel(rows.get(key), policy, now) - cost);
      // Re-inserted so the Map's order is least recently used first.
      rows.delete(key);
      rows.set(key, { tokens, at: now });
      for (const oldest of rows.keys()) {
        if (rows.size <= maxKeys) break;
        rows.delete(oldest);
      }
      return tokens;
    },
    async prune(prefix, before) {
      let pruned = 0;
      for (const [key, row] of rows) {
        if (key.startsWith(prefix) && row.at < before && rows.delete(key)) pruned++;
      }
      return pruned;
    },
  };
}
