/** Registry records beside model versions: lineage, aliases, and every promotion decision. */
import type { ModelAlias, PromotionDecision } from '@edgeloop/shared';
import type { SqlDatabase } from './sql.ts';

export interface LineageRecord {
  parameters: Record<string, unknown>;
  datasetVersion: string | null;
  parentVersion: number | null;
  createdBy: string;
}

export interface RegistryStore {
  setLineage(modelVersion: number, lineage: LineageRecord): Promise<void>;
  getLineage(modelVersion: number): Promise<LineageRecord | null>;
  setAlias(alias: string, modelVersion: number, actor: string, at: string): Promise<void>;
  getAlias(alias: string): Promise<ModelAlias | null>;
  listAliases(): Promise<ModelAlias[]>;
  recordPromotion(decision: PromotionDecision): Promise<void>;
  promotionsOf(modelVersion: number): Promise<PromotionDecision[]>;
}

interface AliasRow {
  alias: string;
  version: number;
  set_by: string;
  set_at: string;
}

const aliasFromRow = (r: AliasRow): ModelAlias => ({
  alias: r.alias,
  modelVersion: r.version,
  setBy: r.set_by,
  setAt: r.set_at,
});

export class SqlRegistryStore implements RegistryStore {
  constructor(private readonly db: SqlDatabase) {}

  async setLineage(modelVersion: number, lineage: LineageRecord): Promise<void> {
    await this.db
      .prepare(
        `INSERT INTO model_lineage (version, parameters, dataset_version, parent_version, created_by)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (version) DO UPDATE SET parameters = excluded.parameters,
           dataset_version = excluded.dataset_version, parent_version = excluded.parent_version,
           created_by = excluded.created_by`,
      )
      .run(
        modelVersion,
        JSON.stringify(lineage.parameters),
        lineage.datasetVersion,
        lineage.parentVersion,
        lineage.createdBy,
      );
  }

  async getLineage(modelVersion: number): Promise<LineageRecord | null> {
    const row = (await this.db.prepare('SELECT * FROM model_lineage WHERE version = ?').get(modelVersion)) as
      | {
          parameters: string;
          dataset_version: string | null;
          parent_version: number | null;
          created_by: string;
        }
      | undefined;
    if (!row) return null;
    return {
      parameters: JSON.parse(row.parameters) as Record<string, unknown>,
      datasetVersion: row.dataset_version,
      parentVersion: row.parent_version,
      createdBy: row.created_by,
    };
  }

  async setAlias(alias: string, modelVersion: number, actor: string, at: string): Promise<void> {
    await this.db
      .prepare(
        `INSERT INTO model_aliases (alias, version, set_by, set_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (alias) DO UPDATE SET version = excluded.version, set_by = excluded.set_by,
           set_at = excluded.set_at`,
      )
      .run(alias, modelVersion, actor, at);
  }

  async getAlias(alias: string): Promise<ModelAlias | null> {
    const row = (await this.db.prepare('SELECT * FROM model_aliases WHERE alias = ?').get(alias)) as
      | AliasRow
      | undefined;
    return row ? aliasFromRow(row) : null;
  }

  async listAliases(): Promise<ModelAlias[]> {
    return ((await this.db.prepare('SELECT * FROM model_aliases ORDER BY alias').all()) as AliasRow[]).map(
      aliasFromRow,
    );
  }

  async recordPromotion(d: PromotionDecision): Promise<void> {
    await this.db
      .prepare(
        `INSERT INTO promotions (candidate, production, promoted, reason, details, actor, at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(d.candidate, d.production, d.promoted ? 1 : 0, d.reason, JSON.stringify(d.details), d.actor, d.at);
  }

  async promotionsOf(modelVersion: number): Promise<PromotionDecision[]> {
    const rows = (await this.db
      .prepare('SELECT * FROM promotions WHERE candidate = ? ORDER BY id')
      .all(modelVersion)) as {
      candidate: number;
      production: number | null;
      promoted: number;
      reason: string;
      details: string;
      actor: string;
      at: string;
    }[];
    return rows.map((r) => ({
      candidate: r.candidate,
      production: r.production,
      promoted: r.promoted === 1,
      reason: r.reason,
      details: JSON.parse(r.details) as Record<string, unknown>,
      actor: r.actor,
      at: r.at,
    }));
  }
}
