/** Published model versions and their signed manifests. */
import { ConflictError, type Manifest } from '@edgeloop/shared';
import type { ModelVersionRecord } from './records.ts';
import { type ModelVersionRow, modelVersionFromRow } from './rows.ts';
import type { SqlDatabase } from './sql.ts';

export interface ModelStore {
  latestVersion(): Promise<number | null>;
  /** Throws ConflictError unless the version is greater than every stored one. */
  insert(record: ModelVersionRecord): Promise<void>;
  get(modelVersion: number): Promise<ModelVersionRecord | null>;
  /** The versions among these that exist, in one statement. */
  getMany(modelVersions: readonly number[]): Promise<Map<number, ModelVersionRecord>>;
  list(): Promise<ModelVersionRecord[]>;
  /** Replaces a version's signed manifest (re-signed with a later expiry; same content). */
  updateManifest(modelVersion: number, manifest: Manifest): Promise<void>;
}

export function createSqlModelStore(db: SqlDatabase): ModelStore {
  return {
    async latestVersion() {
      const row = (await db.prepare('SELECT MAX(version) AS v FROM model_versions').get()) as {
        v: number | null;
      };
      return row.v === null ? null : Number(row.v);
    },

    async insert(record) {
      await db.transaction(async (tx) => {
        // Two publishes racing on Postgres: the second waits, then sees the first's version.
        await tx.lock('model_versions');
        const latest = await createSqlModelStore(tx).latestVersion();
        if (latest !== null && record.modelVersion <= latest) {
          throw new ConflictError(
            `model version ${record.modelVersion} must be greater than the latest version ${latest}`,
          );
        }
        await tx
          .prepare(
            `INSERT INTO model_versions (version, name, manifest, metrics, created_at, published_at)
             VALUES (?, ?, ?, ?, ?, ?)`,
          )
          .run(
            record.modelVersion,
            record.name,
            JSON.stringify(record.manifest),
            record.metrics === null ? null : JSON.stringify(record.metrics),
            record.createdAt,
            record.publishedAt,
          );
      });
    },

    async get(modelVersion) {
      const row = (await db.prepare('SELECT * FROM model_versions WHERE version = ?').get(modelVersion)) as
        | ModelVersionRow
        | undefined;
      return row ? modelVersionFromRow(row) : null;
    },

    async getMany(modelVersions) {
      const out = new Map<number, ModelVersionRecord>();
      const wanted = [...new Set(modelVersions)];
      if (wanted.length === 0) return out;
      const rows = (await db
        .prepare(`SELECT * FROM model_versions WHERE version IN (${wanted.map(() => '?').join(', ')})`)
        .all(...wanted)) as ModelVersionRow[];
      for (const row of rows) {
        const record = modelVersionFromRow(row);
        out.set(record.modelVersion, record);
      }
      return out;
    },

    async list() {
      const rows = (await db
        .prepare('SELECT * FROM model_versions ORDER BY version')
        .all()) as ModelVersionRow[];
      return rows.map(modelVersionFromRow);
    },

    async updateManifest(modelVersion, manifest) {
      await db
        .prepare('UPDATE model_versions SET manifest = ? WHERE version = ?')
        .run(JSON.stringify(manifest), modelVersion);
    },
  };
}
