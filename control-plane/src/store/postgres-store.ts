/** The Postgres Store, for running past one machine: the only importer of pg. */
import { type Logger, redactText } from '@edgeloop/shared';
import pg from 'pg';
import { postgresKysely } from './kysely-database.ts';
import { migratedStore } from './sql-store.ts';
import type { Store } from './store.ts';

/** pg's type ids: BIGINT (int8; our INTEGER columns and COUNT(*)) and NUMERIC (SUM, AVG). */
const INT8_OID = 20;
const NUMERIC_OID = 1700;

export async function openPostgresStore(
  options: { url: string; poolSize?: number },
  logger: Logger,
): Promise<Store> {
  // Counts and ids fit in a double; parsing them here keeps every row mapper engine-neutral.
  const types = {
    getTypeParser: (oid: number, format?: 'text' | 'binary') =>
      oid === INT8_OID || oid === NUMERIC_OID
        ? (value: string) => Number(value)
        : pg.types.getTypeParser(oid, format ?? 'text'),
  };
  const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10, types });
  // A connection's error (server restart, network cut) must not crash the process. pg emits it on
  // the client, checked out or not (the pool passes an idle client's on as its own 'error'); the
  // query it interrupted fails with it, and the pool opens a new connection for the next one.
  pool.on('connect', (client) =>
    client.on('error', (err) => logger.warn({ err: redactText(err.message) }, 'postgres connection lost')),
  );
  pool.on('error', () => {});
  const store = await migratedStore(postgresKysely(pool), logger);
  logger.info({ url: redactText(options.url), poolSize: options.poolSize ?? 10 }, 'store: postgres');
  return store;
}
