/**
 * The slice of a SQL database the per-concept stores use. Statements are written once, in
 * portable SQL with `?` placeholders (the Postgres engine numbers them), and run on SQLite or
 * Postgres through kysely-database.ts, the one importer of Kysely.
 */
export interface SqlStatement {
  run(...params: unknown[]): Promise<{ changes: number }>;
  get(...params: unknown[]): Promise<unknown>;
  all(...params: unknown[]): Promise<unknown[]>;
}

export type SqlDialect = 'sqlite' | 'postgres';

export interface SqlDatabase {
  readonly dialect: SqlDialect;
  prepare(sql: string): SqlStatement;
  /**
   * Runs `fn` in one transaction on the executor it is given; a call on an executor that is
   * already in a transaction joins it, so stores called from inside compose.
   */
  transaction<T>(fn: (tx: SqlDatabase) => Promise<T>): Promise<T>;
  /**
   * Inside a transaction: waits until no other transaction holds the same named lock (Postgres:
   * an advisory transaction lock). SQLite runs one transaction at a time already.
   */
  lock(name: string): Promise<void>;
}
