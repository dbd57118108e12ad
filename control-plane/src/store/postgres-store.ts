/** The Postgres Store, for running past one machine: the only importer of pg. */
import { type Logger, redactText } from '@edgeloop/shared';
import pg from 'pg';
import { postgresKysely } from './kysely-database.ts';
import { migratedStore } from './sql-store.ts';
import type { Store } from './store.ts';

/** Socket errors: the server is not there (restarting, failing over) or the link broke. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * Whether an error from pg means the server went away rather than that a statement failed:
 * SQLSTATE class 08 (connection exception), 57P01-57P03 (shut down by an administrator, crashed,
 * not accepting connections yet), a socket error, or pg's words for a client whose connection
 * ended under it.
 */
export function postgresConnectionLoss(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (
    typeof code === 'string' &&
    (SOCKET_CODES.has(code) || code.startsWith('08') || /^57P0[1-3]$/.test(code))
  )
    return true;
  const message = err instanceof Error ? err.message : '';
  return /Connection terminated|not queryable|timeout exceeded when trying to connect/i.test(message);
}

/** A lease connection that cannot be made this fast will not renew a lease in time either. */
const LEASE_CONNECT_TIMEOUT_MS = 5_000;

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
  // The leader lease's own connection: renewals must not queue behind a pool busy with ingest and
  // rollout queries, or a healthy leader steps down because its renewal waited its turn. Made on
  // first use (only replicas take leases), kept alive, and quick to give up connecting; a renewal
  // that hangs anyway is bounded by the leadership's own deadline (cluster/leadership.ts).
  const leasePool = new pg.Pool({
    connectionString: options.url,
    max: 1,
    types,
    keepAlive: true,
    connectionTimeoutMillis: LEASE_CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: 0,
  });
  for (const p of [pool, leasePool]) {
    // A server restart ends every connection with an error event: on an idle client the pool
    // hears it (and replaces the client); on one checked out between two statements (inside a
    // transaction) only the client does, and an unheard 'error' event would end the process. The
    // statement that follows fails, and the pool drops the broken client when it is released.
    p.on('connect', (client) => {
      client.on('error', (err) => logger.warn({ err: redactText(err.message) }, 'postgres connection lost'));
    });
    // The pool re-emits an idle client's error: logged once already, by the listener above.
    p.on('error', () => {});
  }
  const store = await migratedStore(
    postgresKysely(pool, postgresConnectionLoss),
    logger,
    postgresKysely(leasePool, postgresConnectionLoss),
  );
  logger.info({ url: redactText(options.url), poolSize: options.poolSize ?? 10 }, 'store: postgres');
  return store;
}
