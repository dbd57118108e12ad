/**
 * Datasets and their immutable versions: imported images per named dataset, the labelled field
 * samples a snapshot draws on, and the snapshots themselves (entries stored once, never updated).
 */
import type { DatasetImage, DatasetSplit, DatasetVersion } from '@edgeloop/shared';
import type { SqlDatabase } from './sql.ts';

export interface DatasetImageRecord extends DatasetImage {
  objectKey: string;
  contentType: string;
}

export interface VersionEntryRecord {
  split: DatasetSplit;
  sha256: string;
  label: string;
  objectKey: string;
  contentType: string;
  sampleId: string | null;
}

export interface LabelledSampleRef {
  sampleId: string;
  sha256: string;
  label: string;
  objectKey: string;
  contentType: string;
  labelledAt: string;
}

export interface DatasetStore {
  /** False when the dataset already holds an image with this hash (nothing changes). */
  insertImage(image: DatasetImageRecord): Promise<boolean>;
  listDatasets(): Promise<{ name: string; images: number; classes: Record<string, number> }[]>;
  listImages(
    dataset: string,
    query: { until?: string; limit: number; offset: number },
  ): Promise<{
    images: DatasetImageRecord[];
    total: number;
  }>;
  /** Samples with a class label (confirmed or corrected) given at or before `until`. */
  labelledSamples(until: string): Promise<LabelledSampleRef[]>;
  /** Stores a version with its entries unless one with the same id exists; returns the stored one. */
  insertVersion(
    version: DatasetVersion,
    entries: readonly VersionEntryRecord[],
  ): Promise<{ version: DatasetVersion; created: boolean }>;
  getVersion(id: string): Promise<DatasetVersion | null>;
  listVersions(): Promise<DatasetVersion[]>;
  versionEntries(id: string): Promise<VersionEntryRecord[]>;
  versionEntry(id: string, sha256: string): Promise<VersionEntryRecord | null>;
}

interface ImageRow {
  dataset: string;
  sha256: string;
  label: string;
  object_key: string;
  content_type: string;
  bytes: number;
  width: number;
  height: number;
  source: string;
  added_by: string;
  added_at: string;
}

function imageFromRow(r: ImageRow): DatasetImageRecord {
  return {
    dataset: r.dataset,
    sha256: r.sha256,
    label: r.label,
    bytes: r.bytes,
    width: r.width,
    height: r.height,
    source: r.source,
    addedBy: r.added_by,
    addedAt: r.added_at,
    objectKey: r.object_key,
    contentType: r.content_type,
  };
}

interface VersionRow {
  id: string;
  base: string;
  cutoff: string;
  counts: string;
  created_by: string;
  created_at: string;
}

function versionFromRow(r: VersionRow): DatasetVersion {
  const stored = JSON.parse(r.counts) as { counts: DatasetVersion['counts']; classes: string[] };
  return {
    id: r.id,
    base: r.base,
    cutoff: r.cutoff,
    counts: stored.counts,
    classes: stored.classes,
    createdBy: r.created_by,
    createdAt: r.created_at,
  };
}

export class SqlDatasetStore implements DatasetStore {
  constructor(private readonly db: SqlDatabase) {}

  async insertImage(image: DatasetImageRecord): Promise<boolean> {
    const result = await this.db
      .prepare(
        `INSERT INTO dataset_images (dataset, sha256, label, object_key, content_type, bytes, width, height,
           source, added_by, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (dataset, sha256) DO NOTHING`,
      )
      .run(
        image.dataset,
        image.sha256,
        image.label,
        image.objectKey,
        image.contentType,
        image.bytes,
        image.width,
        image.height,
        image.source,
        image.addedBy,
        image.addedAt,
      );
    return result.changes > 0;
  }

  async listDatasets() {
    const rows = (await this.db
      .prepare(
        'SELECT dataset, label, COUNT(*) AS n FROM dataset_images GROUP BY dataset, label ORDER BY dataset, label',
      )
      .all()) as { dataset: string; label: string; n: number }[];
    const out = new Map<string, { name: string; images: number; classes: Record<string, number> }>();
    for (const r of rows) {
      const d = out.get(r.dataset) ?? { name: r.dataset, images: 0, classes: {} };
      d.images += Number(r.n);
      d.classes[r.label] = Number(r.n);
      out.set(r.dataset, d);
    }
    return [...out.values()];
  }

  async listImages(dataset: string, query: { until?: string; limit: number; offset: number }) {
    const until = query.until ?? '9999';
    const rows = (await this.db
      .prepare(
        'SELECT * FROM dataset_images WHERE dataset = ? AND added_at <= ? ORDER BY added_at, sha256 LIMIT ? OFFSET ?',
      )
      .all(dataset, until, query.limit, query.offset)) as ImageRow[];
    const { n } = (await this.db
      .prepare('SELECT COUNT(*) AS n FROM dataset_images WHERE dataset = ? AND added_at <= ?')
      .get(dataset, until)) as { n: number };
    return { images: rows.map(imageFromRow), total: Number(n) };
  }

  async labelledSamples(until: string): Promise<LabelledSampleRef[]> {
    const rows = (await this.db
      .prepare(
        `SELECT id, sha256, label, object_key, content_type, labelled_at FROM samples
         WHERE label_status IN ('confirmed', 'corrected') AND label IS NOT NULL AND labelled_at <= ?
         ORDER BY labelled_at, id`,
      )
      .all(until)) as {
      id: string;
      sha256: string;
      label: string;
      object_key: string;
      content_type: string;
      labelled_at: string;
    }[];
    return rows.map((r) => ({
      sampleId: r.id,
      sha256: r.sha256,
      label: r.label,
      objectKey: r.object_key,
      contentType: r.content_type,
      labelledAt: r.labelled_at,
    }));
  }

  async insertVersion(version: DatasetVersion, entries: readonly VersionEntryRecord[]) {
    return this.db.transaction(async (tx) => {
      const existing = await new SqlDatasetStore(tx).getVersion(version.id);
      if (existing) return { version: existing, created: false };
      await tx
        .prepare(
          'INSERT INTO dataset_versions (id, base, cutoff, counts, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(
          version.id,
          version.base,
          version.cutoff,
          JSON.stringify({ counts: version.counts, classes: version.classes }),
          version.createdBy,
          version.createdAt,
        );
      const insert = tx.prepare(
        `INSERT INTO dataset_version_entries (version_id, split, sha256, label, object_key, sample_id)
         VALUES (?, ?, ?, ?, ?, ?)`,
      );
      for (const e of entries)
        await insert.run(version.id, e.split, e.sha256, e.label, e.objectKey, e.sampleId);
      return { version, created: true };
    });
  }

  async getVersion(id: string): Promise<DatasetVersion | null> {
    const row = (await this.db.prepare('SELECT * FROM dataset_versions WHERE id = ?').get(id)) as
      | VersionRow
      | undefined;
    return row ? versionFromRow(row) : null;
  }

  async listVersions(): Promise<DatasetVersion[]> {
    const rows = (await this.db
      .prepare('SELECT * FROM dataset_versions ORDER BY created_at, id')
      .all()) as VersionRow[];
    return rows.map(versionFromRow);
  }

  async versionEntries(id: string): Promise<VersionEntryRecord[]> {
    const rows = (await this.db
      .prepare(
        'SELECT split, sha256, label, object_key, sample_id FROM dataset_version_entries WHERE version_id = ? ORDER BY split, label, sha256',
      )
      .all(id)) as EntryRow[];
    return rows.map(entryFromRow);
  }

  async versionEntry(id: string, sha256: string): Promise<VersionEntryRecord | null> {
    const row = (await this.db
      .prepare(
        'SELECT split, sha256, label, object_key, sample_id FROM dataset_version_entries WHERE version_id = ? AND sha256 = ?',
      )
      .get(id, sha256)) as EntryRow | undefined;
    return row ? entryFromRow(row) : null;
  }
}

type EntryRow = {
  split: DatasetSplit;
  sha256: string;
  label: string;
  object_key: string;
  sample_id: string | null;
};

function entryFromRow(r: EntryRow): VersionEntryRecord {
  return {
    split: r.split,
    sha256: r.sha256,
    label: r.label,
    objectKey: r.object_key,
    contentType: contentTypeOfKey(r.object_key),
    sampleId: r.sample_id,
  };
}

/** Object keys end in the image's extension (content addressed: `<sha256>.<ext>`). */
export function contentTypeOfKey(key: string): string {
  if (key.endsWith('.png')) return 'image/png';
  if (key.endsWith('.webp')) return 'image/webp';
  return 'image/jpeg';
}
