/**
 * The slice of better-sqlite3's API the per-concept stores use, so only sqlite-store.ts imports
 * the driver and the others stay testable against the same real database it opens.
 */
export interface SqlStatement {
  run(...params: unknown[]): { changes: number; lastInsertRowid: number | bigint };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

export interface SqlDatabase {
  prepare(sql: string): SqlStatement;
  /** Wraps `fn` so that calling the result runs it in one transaction (nested calls: savepoints). */
  transaction<T>(fn: () => T): () => T;
}
