/**
 * The one importer of Kysely: turns a better-sqlite3 handle or a pg pool into a `SqlDatabase`
 * and applies the migrations with Kysely's `Migrator` on either engine.
 */
import { EdgeloopError, type Logger } from '@edgeloop/shared';
import {
  CompiledQuery,
  type Dialect,
  Kysely,
  type Migration as KyselyMigration,
  Migrator,
  PostgresDialect,
  type PostgresPool,
  type SqliteDatabase,
  SqliteDialect,
  type Transaction,
} from 'kysely';
import { MIGRATIONS, migrationSql } from './migrations.ts';
import type { SqlDatabase, SqlDialect } from './sql.ts';

// biome-ignore lint/suspicious/noExplicitAny: the stores speak SQL text, not Kysely's typed builder.
type AnyKysely = Kysely<any>;

export interface KyselyDatabase {
  readonly sql: SqlDatabase;
  readonly dialect: SqlDialect;
  migrate(logger: Logger): Promise<void>;
  close(): Promise<void>;
}

/** Says whether an error means the database server is gone (not that the statement is wrong). */
export type ConnectionLoss = (err: unknown) => boolean;

export function sqliteKysely(database: SqliteDatabase): KyselyDatabase {
  return wrap(new Kysely({ dialect: new SqliteDialect({ database }) }), 'sqlite', () => false);
}

export function postgresKysely(pool: PostgresPool, connectionLoss: ConnectionLoss): KyselyDatabase {
  return wrap(new Kysely({ dialect: new PostgresDialect({ pool }) as Dialect }), 'postgres', connectionLoss);
}

function wrap(db: AnyKysely, dialect: SqlDialect, connectionLoss: ConnectionLoss): KyselyDatabase {
  // A lost server becomes one named error (HTTP 503), so callers retry instead of seeing a 500.
  const named = (err: unknown): unknown =>
    err instanceof EdgeloopError || !connectionLoss(err)
      ? err
      : new EdgeloopError('STORE_UNAVAILABLE', 'the database is unreachable; try again shortly', {
          cause: err,
        });
  return {
    sql: executor(db, dialect, false, named),
    dialect,
    migrate: (logger) => migrate(db, dialect, logger),
    close: () => db.destroy(),
  };
}

/** `?` to `$1, $2, ...` for Postgres; the stores' SQL has no `?` inside string literals. */
export function numberPlaceholders(text: string): string {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
}

function executor(
  db: AnyKysely | Transaction<unknown>,
  dialect: SqlDialect,
  inTransaction: boolean,
  named: (err: unknown) => unknown,
): SqlDatabase {
  const query = async (text: string, params: readonly unknown[]) =>
    db
      .executeQuery(CompiledQuery.raw(dialect === 'postgres' ? numberPlaceholders(text) : text, [...params]))
      .catch((err: unknown) => {
        throw named(err);
      });
  const self: SqlDatabase = {
    dialect,
    prepare: (text) => ({
      run: async (...params) => {
        const result = await query(text, params);
        return { changes: Number(result.numAffectedRows ?? result.rows.length) };
      },
      get: async (...params) => (await query(text, params)).rows[0],
      all: async (...params) => (await query(text, params)).rows,
    }),
    transaction: (fn) =>
      inTransaction
        ? fn(self)
        : (db as AnyKysely)
            .transaction()
            .execute((trx) => fn(executor(trx, dialect, true, named)))
            .catch((err: unknown) => {
              throw named(err);
            }),
    lock: async (name) => {
      if (dialect === 'postgres' && inTransaction) {
        await query('SELECT pg_advisory_xact_lock(hashtext(?))', [name]);
      }
    },
  };
  return self;
}

/** Kysely's own bookkeeping table; the name says which migrations ran on this database. */
const MIGRATION_TABLE = 'kysely_migration';

async function migrate(db: AnyKysely, dialect: SqlDialect, logger: Logger): Promise<void> {
  await adoptSchemaVersion(db, dialect, logger);
  const migrations: Record<string, KyselyMigration> = {};
  for (const migration of MIGRATIONS) {
    migrations[migrationName(migration.version, migration.name)] = {
      up: async (trx) => {
        for (const statement of migrationSql(migration, dialect)) {
          await trx.executeQuery(CompiledQuery.raw(statement));
        }
      },
    };
  }
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  for (const result of results ?? []) {
    if (result.status === 'Success') logger.info({ migration: result.migrationName }, 'applied migration');
  }
  if (error) throw error;
}

function migrationName(version: number, name: string): string {
  return `${String(version).padStart(4, '0')}-${name}`;
}

/**
 * Databases made before Kysely recorded their migrations in `schema_version` (SQLite only):
 * on their first open, mark those as applied in Kysely's table so nothing runs twice.
 */
async function adoptSchemaVersion(db: AnyKysely, dialect: SqlDialect, logger: Logger): Promise<void> {
  if (dialect !== 'sqlite') return;
  const tables = await db.executeQuery<{ name: string }>(
    CompiledQuery.raw("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)", [
      'schema_version',
      MIGRATION_TABLE,
    ]),
  );
  const names = new Set(tables.rows.map((r) => r.name));
  if (!names.has('schema_version') || names.has(MIGRATION_TABLE)) return;
  const { rows } = await db.executeQuery<{ v: number | null }>(
    CompiledQuery.raw('SELECT MAX(version) AS v FROM schema_version'),
  );
  const current = rows[0]?.v ?? 0;
  await db.transaction().execute(async (trx) => {
    // The same table Kysely's Migrator creates (name, timestamp), so it finds it and carries on.
    await trx.executeQuery(
      CompiledQuery.raw(
        `CREATE TABLE ${MIGRATION_TABLE} (name VARCHAR(255) NOT NULL PRIMARY KEY, timestamp VARCHAR(255) NOT NULL)`,
      ),
    );
    const at = new Date().toISOString();
    for (const migration of MIGRATIONS.filter((m) => m.version <= current)) {
      await trx.executeQuery(
        CompiledQuery.raw(`INSERT INTO ${MIGRATION_TABLE} (name, timestamp) VALUES (?, ?)`, [
          migrationName(migration.version, migration.name),
          at,
        ]),
      );
    }
  });
  logger.info({ version: current }, 'adopted schema_version migrations');
}
