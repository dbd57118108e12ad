/**
 * Named leases for work that one control-plane replica at a time may do (cluster/leadership.ts).
 * A lease is a row with its holder and expiry (milliseconds since the epoch, from the holder's
 * clock): taking it succeeds when nobody holds it, the caller already does, or it has expired.
 * Plain SQL both engines run (upsert with a WHERE on the conflict branch), so the embedded SQLite
 * store and a shared Postgres elect the same way. On Postgres the store gives leases a connection
 * of their own (postgres-store.ts), so a renewal never waits behind ordinary queries.
 */
import type { SqlDatabase } from './sql.ts';

export interface LeaseStore {
  /** Takes or renews `name` for `holder` until `now + ttlMs`; true when `holder` has it afterwards. */
  acquire(name: string, holder: string, ttlMs: number, now: number): Promise<boolean>;
  /** Gives the lease up early (a clean stop), so another replica need not wait for it to expire. */
  release(name: string, holder: string): Promise<void>;
  /** Who holds `name` now, or null when nobody does (never taken, released or expired). */
  holder(name: string, now: number): Promise<string | null>;
  /** The leases named `prefix…` that have expired and were not released, oldest first. */
  expired(prefix: string, now: number): Promise<{ name: string; holder: string }[]>;
}

export function createSqlLeaseStore(db: SqlDatabase): LeaseStore {
  return {
    async acquire(name, holder, ttlMs, now) {
      // One statement, no transaction: RETURNING gives a row only when this holder inserted or
      // renewed the lease, none when another holds it (a renewal is one round trip).
      const row = (await db
        .prepare(
          `INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
           WHERE leases.holder = excluded.holder OR leases.expires_at <= ?
           RETURNING holder`,
        )
        .get(name, holder, now + ttlMs, now)) as { holder: string } | undefined;
      return row?.holder === holder;
    },
    async release(name, holder) {
      await db.prepare('DELETE FROM leases WHERE name = ? AND holder = ?').run(name, holder);
    },
    async holder(name, now) {
      const row = (await db
        .prepare('SELECT holder FROM leases WHERE name = ? AND expires_at > ?')
        .get(name, now)) as { holder: string } | undefined;
      return row?.holder ?? null;
    },
    async expired(prefix, now) {
      if (/[%_\\]/.test(prefix)) throw new Error(`lease prefix '${prefix}' must not hold LIKE wildcards`);
      return (await db
        .prepare(
          'SELECT name, holder FROM leases WHERE name LIKE ? AND expires_at <= ? ORDER BY expires_at, name',
        )
        .all(`${prefix}%`, now)) as { name: string; holder: string }[];
    },
  };
}
