/**
 * Labels on samples: the queue's candidate pool, label actions with their history (who, when,
 * what), and the project's classes. Runs on the database sqlite-store.ts opened.
 */
import type { LabelEvent, LabelledSample, LabelStatus } from '@edgeloop/shared';
import { publicSample, type SampleRecord } from './records.ts';
import { type SampleRow, sampleFromRow } from './rows.ts';
import type { SqlDatabase } from './sql.ts';

export interface LabelledSampleRecord extends LabelledSample {
  objectKey: string;
  contentType: string;
  embedding: number[] | null;
}

export interface LabelWrite {
  sampleId: string;
  action: LabelEvent['action'];
  /** null for `none`; ignored for `skip`. */
  label: string | null;
  status: LabelStatus | null;
  actor: string;
  at: string;
}

export interface LabellingStore {
  getLabelled(sampleId: string): Promise<LabelledSampleRecord | null>;
  /** Unlabelled samples, never-skipped first, least confident first; at most `limit`. */
  queuePool(limit: number): Promise<LabelledSampleRecord[]>;
  countUnlabelled(): Promise<number>;
  /**
   * The frame embeddings of the `limit` most recently labelled samples (any label action but a
   * skip): the queue keeps its picks away from scenes someone has already labelled.
   */
  labelledEmbeddings(limit: number): Promise<number[][]>;
  /** Applies one action and records it in the history, in one transaction. */
  apply(write: LabelWrite): Promise<LabelledSampleRecord | null>;
  history(sampleId: string): Promise<LabelEvent[]>;
  /** Label actions (not skips) recorded after `since`; the pipeline's "N new labels" trigger. */
  countLabelsSince(since: string): Promise<number>;
  addClass(name: string, actor: string, at: string): Promise<boolean>;
  /** Classes added by hand, then labels of published models, then labels of dataset images. */
  listClasses(): Promise<{ name: string; source: 'classes' | 'model' | 'dataset' }[]>;
}

type LabelledRow = SampleRow & { label_status: LabelStatus | null; skipped_at: string | null };

export function labelledFromRow(row: LabelledRow): LabelledSampleRecord {
  const record: SampleRecord = sampleFromRow(row);
  const top = record.topK.reduce<{ label: string; confidence: number } | null>(
    (best, s) => (best === null || s.confidence > best.confidence ? s : best),
    null,
  );
  return {
    ...publicSample(record),
    labelStatus: row.label_status,
    preLabel: top?.label ?? null,
    skippedAt: row.skipped_at,
    objectKey: record.objectKey,
    contentType: record.contentType,
    embedding: record.embedding,
  };
}

export class SqlLabellingStore implements LabellingStore {
  constructor(private readonly db: SqlDatabase) {}

  async getLabelled(sampleId: string): Promise<LabelledSampleRecord | null> {
    const row = (await this.db.prepare('SELECT * FROM samples WHERE id = ?').get(sampleId)) as
      | LabelledRow
      | undefined;
    return row ? labelledFromRow(row) : null;
  }

  async queuePool(limit: number): Promise<LabelledSampleRecord[]> {
    const rows = (await this.db
      .prepare(
        `SELECT * FROM samples WHERE label_status IS NULL
         ORDER BY skipped_at IS NOT NULL, skipped_at, confidence, received_at, id LIMIT ?`,
      )
      .all(limit)) as LabelledRow[];
    return rows.map(labelledFromRow);
  }

  async countUnlabelled(): Promise<number> {
    return (
      (await this.db.prepare('SELECT COUNT(*) AS n FROM samples WHERE label_status IS NULL').get()) as {
        n: number;
      }
    ).n;
  }

  async labelledEmbeddings(limit: number): Promise<number[][]> {
    const rows = (await this.db
      .prepare(
        `SELECT embedding FROM samples WHERE label_status IS NOT NULL AND embedding IS NOT NULL
         ORDER BY labelled_at DESC, id DESC LIMIT ?`,
      )
      .all(limit)) as { embedding: string }[];
    return rows.map((row) => JSON.parse(row.embedding) as number[]);
  }

  async apply(write: LabelWrite): Promise<LabelledSampleRecord | null> {
    return this.db.transaction(async (tx) => {
      const labelling = new SqlLabellingStore(tx);
      if (!(await labelling.getLabelled(write.sampleId))) return null;
      if (write.action === 'skip') {
        await tx.prepare('UPDATE samples SET skipped_at = ? WHERE id = ?').run(write.at, write.sampleId);
      } else {
        await tx
          .prepare(
            'UPDATE samples SET label = ?, label_status = ?, labelled_by = ?, labelled_at = ? WHERE id = ?',
          )
          .run(write.label, write.status, write.actor, write.at, write.sampleId);
      }
      await tx
        .prepare('INSERT INTO label_events (sample_id, action, label, actor, at) VALUES (?, ?, ?, ?, ?)')
        .run(
          write.sampleId,
          write.action,
          write.action === 'skip' ? null : write.label,
          write.actor,
          write.at,
        );
      return labelling.getLabelled(write.sampleId);
    });
  }

  async history(sampleId: string): Promise<LabelEvent[]> {
    const rows = (await this.db
      .prepare('SELECT sample_id, action, label, actor, at FROM label_events WHERE sample_id = ? ORDER BY id')
      .all(sampleId)) as {
      sample_id: string;
      action: LabelEvent['action'];
      label: string | null;
      actor: string;
      at: string;
    }[];
    return rows.map((r) => ({
      sampleId: r.sample_id,
      action: r.action,
      label: r.label,
      actor: r.actor,
      at: r.at,
    }));
  }

  async countLabelsSince(since: string): Promise<number> {
    const row = (await this.db
      .prepare("SELECT COUNT(*) AS n FROM label_events WHERE action != 'skip' AND at > ?")
      .get(since)) as { n: number };
    return row.n;
  }

  async addClass(name: string, actor: string, at: string): Promise<boolean> {
    const result = await this.db
      .prepare(
        'INSERT INTO classes (name, added_by, added_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING',
      )
      .run(name, actor, at);
    return result.changes > 0;
  }

  async listClasses() {
    const out = new Map<string, 'classes' | 'model' | 'dataset'>();
    for (const r of (await this.db.prepare('SELECT name FROM classes ORDER BY name').all()) as {
      name: string;
    }[]) {
      out.set(r.name, 'classes');
    }
    const manifests = (await this.db
      .prepare('SELECT manifest FROM model_versions ORDER BY version')
      .all()) as {
      manifest: string;
    }[];
    for (const m of manifests) {
      for (const label of (JSON.parse(m.manifest) as { labels: string[] }).labels) {
        if (!out.has(label)) out.set(label, 'model');
      }
    }
    const datasetLabels = (await this.db
      .prepare('SELECT DISTINCT label FROM dataset_images ORDER BY label')
      .all()) as {
      label: string;
    }[];
    for (const r of datasetLabels) if (!out.has(r.label)) out.set(r.label, 'dataset');
    return [...out].map(([name, source]) => ({ name, source }));
  }
}
