/**
 * What "the control plane's state" is for the fuzz bench: every table of its SQLite database
 * (rows and a sha256 over their contents, read through a second, read-only connection) plus the
 * names and sizes of the files in its object store. Two equal digests mean a rejected input
 * changed nothing a user could see.
 */
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';

/**
 * Columns that move with connections, not with inputs: a device's liveness as the broker sees it
 * (a fuzz client connecting is not a rejected input).
 */
const VOLATILE: Record<string, readonly string[]> = {
  devices: ['online', 'last_seen_at'],
};

export interface StateDigest {
  tables: Record<string, { rows: number; sha256: string }>;
  objects: string;
}

export function openStateReader(dbFile: string, objectsDir: string) {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  const tables = (
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as {
      name: string;
    }[]
  ).map((t) => t.name);

  function digestObjects(): string {
    const hash = createHash('sha256');
    const walk = (dir: string) => {
      let names: string[];
      try {
        names = readdirSync(dir).sort();
      } catch {
        return;
      }
      for (const name of names) {
        const path = join(dir, name);
        const s = statSync(path);
        if (s.isDirectory()) walk(path);
        else hash.update(`${relative(objectsDir, path)}:${s.size}\n`);
      }
    };
    walk(objectsDir);
    return hash.digest('hex');
  }

  return {
    digest(): StateDigest {
      const out: StateDigest['tables'] = {};
      for (const table of tables) {
        const skip = new Set(VOLATILE[table] ?? []);
        const columns = (db.prepare(`PRAGMA table_info("${table}")`).all() as { name: string }[])
          .map((c) => c.name)
          .filter((c) => !skip.has(c));
        const hash = createHash('sha256');
        let rows = 0;
        const list = columns.map((c) => `"${c}"`).join(', ');
        for (const row of db.prepare(`SELECT ${list} FROM "${table}" ORDER BY rowid`).iterate()) {
          hash.update(JSON.stringify(row));
          rows++;
        }
        out[table] = { rows, sha256: hash.digest('hex') };
      }
      return { tables: out, objects: digestObjects() };
    },
    /** Tables (and "objects") that differ between two digests. */
    changed(a: StateDigest, b: StateDigest): string[] {
      const names = Object.keys(a.tables).filter((t) => a.tables[t].sha256 !== b.tables[t]?.sha256);
      return a.objects === b.objects ? names : [...names, 'objects'];
    },
    close: () => db.close(),
  };
}
