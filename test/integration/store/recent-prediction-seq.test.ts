/**
 * A database whose recent predictions were kept before they were numbered per device: after the
 * migration each device still keeps its newest window, and the next prediction pushes out exactly
 * that device's oldest one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@edgeloop/shared';
import Database from 'better-sqlite3';
import { afterEach, expect, it } from 'vitest';
import { RECENT_PREDICTIONS_PER_DEVICE } from '../../../control-plane/src/store/device-store.ts';
import { MIGRATIONS, migrationSql } from '../../../control-plane/src/store/migrations.ts';
import { openSqliteStore } from '../../../control-plane/src/store/sqlite-store.ts';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it('numbers existing recent predictions back from each device’s total', async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgeloop-seq-'));
  const file = join(dir, 'control-plane.db');
  const numbered = MIGRATIONS.find((m) => m.name === 'recent-prediction-seq')!;
  const old = new Database(file);
  old.exec('CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TEXT NOT NULL)');
  for (const m of MIGRATIONS.filter((x) => x.version < numbered.version)) {
    for (const statement of migrationSql(m, 'sqlite')) old.exec(statement);
    old.prepare('INSERT INTO schema_version (version, applied_at) VALUES (?, ?)').run(m.version, 'then');
  }
  const at = '2026-12-01T00:00:00Z';
  const totals = { busy: 250, quiet: 30 };
  for (const [id, total] of Object.entries(totals)) {
    old
      .prepare("INSERT INTO devices (id, grp, secret_hash, enrolled_at, tags) VALUES (?, 'g', 'h', ?, '[]')")
      .run(id, at);
    old
      .prepare(
        'INSERT INTO prediction_stats (device_id, total, last_prediction, last_received_at) VALUES (?, ?, ?, ?)',
      )
      .run(id, total, '{}', at);
  }
  // Interleaved, as a fleet writes them: the busy device's newest 100, the quiet one's 30.
  const insert = old.prepare(
    `INSERT INTO recent_predictions (device_id, model_version, frame_id, top_label, confidence, latency_ms, captured_at, received_at)
     VALUES (?, 1, ?, 'red', ?, 3, ?, ?)`,
  );
  for (let i = 0; i < RECENT_PREDICTIONS_PER_DEVICE; i++) {
    insert.run('busy', `b${i}`, i / 1000, at, at);
    if (i < totals.quiet) insert.run('quiet', `q${i}`, i / 1000, at, at);
  }
  old.close();

  const store = await openSqliteStore(file, createLogger({ level: 'silent' }));
  try {
    const prediction = {
      protocol: 1,
      modelVersion: 1,
      frameId: 'new',
      capturedAt: at,
      topK: [{ label: 'red', confidence: 0.999 }],
      latencyMs: 3,
    } as Parameters<typeof store.devices.recordPrediction>[1];
    await store.devices.recordPrediction('busy', prediction, at);
    await store.devices.recordPrediction('quiet', prediction, at);
    const recent = await store.dashboard.telemetry(['busy', 'quiet']);
    const busy = recent.get('busy')!.map((p) => Math.round(p.confidence * 1000));
    expect(busy).toHaveLength(RECENT_PREDICTIONS_PER_DEVICE);
    expect(busy[0]).toBe(1);
    expect(busy.at(-1)).toBe(999);
    expect(recent.get('quiet')).toHaveLength(totals.quiet + 1);
    expect((await store.devices.get('busy'))?.predictionsTotal).toBe(totals.busy + 1);
  } finally {
    await store.close();
  }
});
