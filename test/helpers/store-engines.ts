/**
 * The two Store engines a contract test runs against: SQLite (a real file in a temp dir) and
 * Postgres 15 (a throwaway cluster on loopback, started by the opener and stopped by `done`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@edgeloop/shared';
import { openPostgresStore } from '../../control-plane/src/store/postgres-store.ts';
import { openSqliteStore } from '../../control-plane/src/store/sqlite-store.ts';
import type { Store } from '../../control-plane/src/store/store.ts';
import { postgresSkipped, startPostgres } from './postgres-cluster.ts';

export type OpenEngine = () => Promise<{ store: Store; done: () => Promise<void> }>;

const logger = createLogger({ level: 'silent' });

/** [name, open] pairs for `describe.each`; Postgres unless EDGELOOP_TEST_SKIP_POSTGRES=1. */
export function storeEngines(): [string, OpenEngine][] {
  const engines: [string, OpenEngine][] = [
    [
      'sqlite',
      async () => {
        const dir = mkdtempSync(join(tmpdir(), 'edgeloop-contract-'));
        const store = await openSqliteStore(join(dir, 'db.sqlite'), logger);
        return { store, done: async () => rmSync(dir, { recursive: true, force: true }) };
      },
    ],
  ];
  if (!postgresSkipped) {
    engines.push([
      'postgres',
      async () => {
        const cluster = await startPostgres();
        const store = await openPostgresStore({ url: cluster.url, poolSize: 4 }, logger);
        return { store, done: () => cluster.stop() };
      },
    ]);
  }
  return engines;
}
