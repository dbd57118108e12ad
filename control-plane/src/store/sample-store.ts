/** Samples devices uploaded: stored once per idempotency key and once per image content. */
import { randomUUID } from 'node:crypto';
import type { NewSample, SampleRecord } from './records.ts';
import { type SampleRow, sampleFromRow } from './rows.ts';
import type { SqlDatabase } from './sql.ts';

export interface SampleStore {
  /**
   * Inserts once per (device, idempotency key) and once per image content (sha256): a repeat of
   * either returns the first sample as a duplicate.
   */
  insert(sample: NewSample, receivedAt: string): Promise<{ sample: SampleRecord; duplicate: boolean }>;
  findByKey(deviceId: string, idempotencyKey: string): Promise<SampleRecord | null>;
  findBySha256(sha256: string): Promise<SampleRecord | null>;
  get(sampleId: string): Promise<SampleRecord | null>;
  list(query: { labelled?: boolean; limit: number; offset: number }): Promise<{
    samples: SampleRecord[];
    total: number;
  }>;
  markUsed(sampleIds: readonly string[], modelVersion: number): Promise<number>;
}

export function createSqlSampleStore(db: SqlDatabase): SampleStore {
  return {
    insert(sample, receivedAt) {
      const { metadata } = sample;
      const confidence = metadata.topK.reduce((max, s) => Math.max(max, s.confidence), 0);
      const id = `smp-${randomUUID()}`;
      // One transaction: two uploads of the same image racing each other still store one row
      // (on Postgres the content lock makes the second wait for the first to commit).
      return db.transaction(async (tx) => {
        await tx.lock(`sample:${sample.sha256}`);
        const samples = createSqlSampleStore(tx);
        const seen =
          (await samples.findByKey(sample.deviceId, metadata.idempotencyKey)) ??
          (await samples.findBySha256(sample.sha256));
        if (seen) return { sample: seen, duplicate: true };
        await tx
          .prepare(
            `INSERT INTO samples (id, device_id, idempotency_key, sha256, object_key, content_type, bytes, width,
               height, model_version, frame_id, captured_at, received_at, reason, top_k, confidence, camera_id,
               embedding)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            id,
            sample.deviceId,
            metadata.idempotencyKey,
            sample.sha256,
            sample.objectKey,
            sample.contentType,
            sample.bytes,
            sample.width,
            sample.height,
            metadata.modelVersion,
            metadata.frameId,
            metadata.capturedAt,
            receivedAt,
            metadata.reason,
            JSON.stringify(metadata.topK),
            confidence,
            metadata.cameraId ?? null,
            metadata.embedding ? JSON.stringify(metadata.embedding) : null,
          );
        return { sample: (await samples.get(id))!, duplicate: false };
      });
    },

    async findBySha256(sha256) {
      const row = (await db
        .prepare('SELECT * FROM samples WHERE sha256 = ? ORDER BY received_at, id LIMIT 1')
        .get(sha256)) as SampleRow | undefined;
      return row ? sampleFromRow(row) : null;
    },

    async findByKey(deviceId, idempotencyKey) {
      const row = (await db
        .prepare('SELECT * FROM samples WHERE device_id = ? AND idempotency_key = ?')
        .get(deviceId, idempotencyKey)) as SampleRow | undefined;
      return row ? sampleFromRow(row) : null;
    },

    async get(sampleId) {
      const row = (await db.prepare('SELECT * FROM samples WHERE id = ?').get(sampleId)) as
        | SampleRow
        | undefined;
      return row ? sampleFromRow(row) : null;
    },

    async list(query) {
      const where =
        query.labelled === undefined
          ? ''
          : query.labelled
            ? 'WHERE label IS NOT NULL'
            : 'WHERE label IS NULL';
      const rows = (await db
        .prepare(`SELECT * FROM samples ${where} ORDER BY received_at, id LIMIT ? OFFSET ?`)
        .all(query.limit, query.offset)) as SampleRow[];
      const { n } = (await db.prepare(`SELECT COUNT(*) AS n FROM samples ${where}`).get()) as { n: number };
      return { samples: rows.map(sampleFromRow), total: Number(n) };
    },

    markUsed(sampleIds, modelVersion) {
      return db.transaction(async (tx) => {
        const update = tx.prepare('UPDATE samples SET used_in_model_version = ? WHERE id = ?');
        let updated = 0;
        for (const id of new Set(sampleIds)) updated += (await update.run(modelVersion, id)).changes;
        return updated;
      });
    },
  };
}
