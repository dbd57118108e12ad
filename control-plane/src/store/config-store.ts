/**
 * Remote configuration records: one fragment per (scope, key), and the configuration each device
 * last reported it applied. Fragments are stored as validated; secrets are redacted on read by the
 * HTTP handlers, not here (the device's own copy needs them).
 */
import type { AppliedConfig, ConfigFragment, ConfigScope } from '@edgeloop/shared';
import type { SqlDatabase } from './sql.ts';

export interface FragmentRecord {
  scope: ConfigScope;
  key: string;
  settings: ConfigFragment;
  revision: string | null;
  updatedAt: string;
  updatedBy: string;
}

export interface ConfigStore {
  putFragment(fragment: FragmentRecord): Promise<void>;
  getFragment(scope: ConfigScope, key: string): Promise<FragmentRecord | null>;
  /** True when there was one to delete. */
  deleteFragment(scope: ConfigScope, key: string): Promise<boolean>;
  listFragments(): Promise<FragmentRecord[]>;
  /** Writes only when the report differs (it rides along in every heartbeat). */
  recordApplied(deviceId: string, applied: AppliedConfig, receivedAt: string): Promise<void>;
  getApplied(deviceId: string): Promise<AppliedConfig | null>;
}

interface FragmentRow {
  scope: ConfigScope;
  key: string;
  settings: string;
  revision: string | null;
  updated_at: string;
  updated_by: string;
}

const fragmentFromRow = (r: FragmentRow): FragmentRecord => ({
  scope: r.scope,
  key: r.key,
  settings: JSON.parse(r.settings) as ConfigFragment,
  revision: r.revision,
  updatedAt: r.updated_at,
  updatedBy: r.updated_by,
});

export class SqlConfigStore implements ConfigStore {
  constructor(private readonly db: SqlDatabase) {}

  async putFragment(f: FragmentRecord): Promise<void> {
    await this.db
      .prepare(
        `INSERT INTO config_fragments (scope, key, settings, revision, updated_at, updated_by)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (scope, key) DO UPDATE SET settings = excluded.settings, revision = excluded.revision,
           updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
      )
      .run(f.scope, f.key, JSON.stringify(f.settings), f.revision, f.updatedAt, f.updatedBy);
  }

  async getFragment(scope: ConfigScope, key: string): Promise<FragmentRecord | null> {
    const row = (await this.db
      .prepare('SELECT * FROM config_fragments WHERE scope = ? AND key = ?')
      .get(scope, key)) as FragmentRow | undefined;
    return row ? fragmentFromRow(row) : null;
  }

  async deleteFragment(scope: ConfigScope, key: string): Promise<boolean> {
    return (
      (await this.db.prepare('DELETE FROM config_fragments WHERE scope = ? AND key = ?').run(scope, key))
        .changes > 0
    );
  }

  async listFragments(): Promise<FragmentRecord[]> {
    const rows = (await this.db
      .prepare('SELECT * FROM config_fragments ORDER BY scope, key')
      .all()) as FragmentRow[];
    return rows.map(fragmentFromRow);
  }

  async recordApplied(deviceId: string, applied: AppliedConfig, receivedAt: string): Promise<void> {
    await this.db
      .prepare(
        `INSERT INTO device_config_reports (device_id, report, received_at) VALUES (?, ?, ?)
         ON CONFLICT (device_id) DO UPDATE SET report = excluded.report, received_at = excluded.received_at
         WHERE device_config_reports.report != excluded.report`,
      )
      .run(deviceId, JSON.stringify(applied), receivedAt);
  }

  async getApplied(deviceId: string): Promise<AppliedConfig | null> {
    const row = (await this.db
      .prepare('SELECT report FROM device_config_reports WHERE device_id = ?')
      .get(deviceId)) as { report: string } | undefined;
    return row ? (JSON.parse(row.report) as AppliedConfig) : null;
  }
}
