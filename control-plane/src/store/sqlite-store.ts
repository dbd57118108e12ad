/** The SQLite Store, the embedded default: the only importer of better-sqlite3. WAL mode. */
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Logger, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '@edgeloop/shared';
import Database from 'better-sqlite3';
import { sqliteKysely } from './kysely-database.ts';
import { migratedStore } from './sql-store.ts';
import type { Store } from './store.ts';

export { RECENT_PREDICTIONS_PER_DEVICE } from './device-store.ts';

export async function openSqliteStore(file: string, logger: Logger): Promise<Store> {
  mkdirSync(dirname(file), { recursive: true, mode: PRIVATE_DIR_MODE });
  const db = new Database(file);
  // SQLite gives its -wal and -shm files the database file's mode.
  chmodSync(file, PRIVATE_FILE_MODE);
  db.pragma('journal_mode = WAL');
  // FULL: a committed row survives power loss too, so a 201 really means durable.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return migratedStore(sqliteKysely(db), logger);
}
