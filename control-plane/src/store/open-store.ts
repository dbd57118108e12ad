/** Opens the configured Store: SQLite in dataDir by default, or Postgres. */
import { join } from 'node:path';
import type { Logger, StoreConfig } from '@edgeloop/shared';
import { openPostgresStore } from './postgres-store.ts';
import { openSqliteStore } from './sqlite-store.ts';
import type { Store } from './store.ts';

export function openStore(config: StoreConfig, dataDir: string, logger: Logger): Promise<Store> {
  if (config.type === 'postgres')
    return openPostgresStore({ url: config.url, poolSize: config.poolSize }, logger);
  return openSqliteStore(config.path ?? join(dataDir, 'control-plane.db'), logger);
}
