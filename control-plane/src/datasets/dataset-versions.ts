/**
 * Dataset versions: an immutable, content-addressed snapshot of what training and evaluation may
 * use at a point in time.
 *
 * - validation: the project's fixed evaluation set (dataset `eval`), so every version is judged on
 *   the same images.
 * - field-hard: labelled field samples whose image hash falls in the first FIELD_HARD_SHARE of the
 *   hash space. The rule depends only on the image's bytes, so a sample never moves between splits
 *   from one version to the next and training never sees a field-hard image.
 * - train: the base dataset's images plus every other labelled field sample.
 *
 * One image appears once: eval beats field-hard beats train, and a field sample's (newer, human)
 * label replaces a base image's. The id is sha256 over the sorted `split\tsha256\tlabel` lines, so
 * the same content always gets the same id and snapshotting twice stores nothing new.
 */
import { createHash } from 'node:crypto';
import { type DatasetSplit, type DatasetVersion, EdgeloopError, EVAL_DATASET } from '@edgeloop/shared';
import type { VersionEntryRecord } from '../store/dataset-store.ts';
import type { Store } from '../store/store.ts';

export const FIELD_HARD_SHARE = 0.2;

/** Deterministic split of a labelled field sample by its image hash (see the file comment). */
export function isFieldHard(sha256: string): boolean {
  return Number.parseInt(sha256.slice(0, 8), 16) / 0x1_0000_0000 < FIELD_HARD_SHARE;
}

export function datasetVersionId(
  entries: readonly { split: string; sha256: string; label: string }[],
): string {
  const lines = entries.map((e) => `${e.split}\t${e.sha256}\t${e.label}\n`).sort();
  const hash = createHash('sha256');
  for (const line of lines) hash.update(line);
  return `ds-${hash.digest('hex').slice(0, 24)}`;
}

const PAGE = 10_000;

async function allImages(store: Store, dataset: string, until: string) {
  const out = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = await store.datasets.listImages(dataset, { until, limit: PAGE, offset });
    out.push(...page.images);
    if (page.images.length < PAGE) return out;
  }
}

export async function snapshotDataset(
  store: Store,
  options: { base: string; until?: string; actor: string },
  now = new Date(),
): Promise<{ version: DatasetVersion; created: boolean }> {
  const cutoff = options.until ?? now.toISOString();
  const bySha = new Map<string, VersionEntryRecord>();
  const put = (split: DatasetSplit, e: Omit<VersionEntryRecord, 'split'>) =>
    bySha.set(e.sha256, { split, ...e });

  // Lowest precedence first; later puts replace earlier ones.
  if (options.base !== EVAL_DATASET) {
    for (const img of await allImages(store, options.base, cutoff)) {
      put('train', {
        sha256: img.sha256,
        label: img.label,
        objectKey: img.objectKey,
        contentType: img.contentType,
        sampleId: null,
      });
    }
  }
  for (const s of await store.datasets.labelledSamples(cutoff)) {
    put(isFieldHard(s.sha256) ? 'field-hard' : 'train', {
      sha256: s.sha256,
      label: s.label,
      objectKey: s.objectKey,
      contentType: s.contentType,
      sampleId: s.sampleId,
    });
  }
  for (const img of await allImages(store, EVAL_DATASET, cutoff)) {
    put('validation', {
      sha256: img.sha256,
      label: img.label,
      objectKey: img.objectKey,
      contentType: img.contentType,
      sampleId: null,
    });
  }

  const entries = [...bySha.values()];
  const counts: Record<DatasetSplit, number> = { train: 0, validation: 0, 'field-hard': 0 };
  for (const e of entries) counts[e.split]++;
  if (counts.train === 0) {
    throw new EdgeloopError(
      'DATASET_INVALID',
      `nothing to train on: dataset '${options.base}' and the labelled samples up to ${cutoff} are empty`,
    );
  }
  const version: DatasetVersion = {
    id: datasetVersionId(entries),
    base: options.base,
    cutoff,
    counts,
    classes: [...new Set(entries.map((e) => e.label))].sort(),
    createdBy: options.actor,
    createdAt: now.toISOString(),
  };
  return store.datasets.insertVersion(version, entries);
}
