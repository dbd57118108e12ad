/**
 * A SQLite database made before the store moved to Kysely (migrations recorded in schema_version)
 * opens with its data intact, and no migration runs twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, FleetQuerySchema } from '@edgeloop/shared';
import Database from 'better-sqlite3';
import { afterEach, expect, it } from 'vitest';
import { MIGRATIONS, migrationSql } from '../../../control-plane/src/store/migrations.ts';
import { openSqliteStore } from '../../../control-plane/src/store/sqlite-store.ts';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it('opens a schema_version database without losing or re-migrating anything', async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgeloop-adopt-'));
  const file = join(dir, 'control-plane.db');
  // What openSqliteStore did before: each migration's SQL, then a schema_version row.
  const old = new Database(file);
  old.exec('CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TEXT NOT NULL)');
  for (const m of MIGRATIONS.filter((x) => x.version <= 13)) {
    for (const statement of migrationSql(m, 'sqlite')) old.exec(statement);
    old.prepare('INSERT INTO schema_version (version, applied_at) VALUES (?, ?)').run(m.version, 'then');
  }
  old
    .prepare(
      "INSERT INTO devices (id, grp, secret_hash, enrolled_at, tags) VALUES ('cam-old', 'yard', 'h', 'then', '[\"a\"]')",
    )
    .run();
  old.close();

  const store = await openSqliteStore(file, createLogger({ level: 'silent' }));
  try {
    expect(await store.devices.get('cam-old')).toMatchObject({
      deviceId: 'cam-old',
      group: 'yard',
      tags: ['a'],
    });
    // Tags written before device_tags existed are found by the fleet page's tag filter and list.
    const tagged = await store.dashboard.fleet(FleetQuerySchema.parse({ tags: 'a' }));
    expect(tagged.devices.map((d) => d.deviceId)).toEqual(['cam-old']);
    expect(tagged.tags).toEqual(['a']);
    await store.devices.createEnrollmentToken({
      tokenHash: 't',
      group: 'yard',
      usesLeft: 1,
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
    });
    await store.devices.enroll(
      't',
      { deviceId: 'cam-new', name: null, hardware: null, secretHash: 'h' },
      new Date(),
    );
    expect((await store.devices.list()).map((d) => d.deviceId)).toEqual(['cam-new', 'cam-old']);
  } finally {
    await store.close();
  }
  const db = new Database(file, { readonly: true });
  const applied = db.prepare('SELECT name FROM kysely_migration ORDER BY name').all() as { name: string }[];
  db.close();
  expect(applied.map((r) => r.name)).toEqual(
    MIGRATIONS.map((m) => `${String(m.version).padStart(4, '0')}-${m.name}`),
  );
});
