/**
 * Bulk imports into a dataset, from a prefix of the control plane's own object store (a folder or
 * an S3 prefix laid out as `prefix/<class>/<file>`) or from a list of URLs with their labels.
 * One bad image does not stop an import: it is reported in `failed` with its reason.
 */
import {
  ClassNameSchema,
  type DatasetImport,
  type DatasetImportResult,
  toEdgeloopError,
} from '@edgeloop/shared';
import { addDatasetImage, type DatasetImageDeps } from './dataset-images.ts';

export interface DatasetImportDeps extends DatasetImageDeps {
  /** GETs one image URL within the SSRF policy and byte cap (net/guarded-fetch.ts). */
  fetchUrl(url: string): Promise<Uint8Array>;
}

/** `prefix/<class>/<file>` → class; anything not two levels below the prefix has no class. */
export function classOfKey(prefix: string, key: string): string | null {
  const rest = key.slice(prefix.length).replace(/^\//, '').split('/');
  if (rest.length !== 2) return null;
  return ClassNameSchema.safeParse(rest[0]).success ? rest[0] : null;
}

export async function importIntoDataset(
  deps: DatasetImportDeps,
  dataset: string,
  request: DatasetImport,
  actor: string,
): Promise<DatasetImportResult> {
  const result: DatasetImportResult = { added: 0, duplicates: 0, failed: [] };
  const jobs: { source: string; label: string | null; load: () => Promise<Uint8Array> }[] = [];
  if (request.source.kind === 'object-store') {
    const prefix = request.source.prefix;
    for (const key of await deps.objects.list(prefix)) {
      jobs.push({
        source: `object-store:${key}`,
        label: classOfKey(prefix, key),
        load: () => deps.objects.get(key),
      });
    }
  } else {
    for (const item of request.source.items) {
      jobs.push({
        source: `url:${item.url}`,
        label: item.label,
        load: () => deps.fetchUrl(item.url),
      });
    }
  }
  for (const job of jobs) {
    if (job.label === null) {
      result.failed.push({ source: job.source, reason: 'not in a <prefix>/<class>/<file> layout' });
      continue;
    }
    try {
      const bytes = await job.load();
      const { duplicate } = await addDatasetImage(deps, {
        dataset,
        label: job.label,
        bytes,
        source: job.source,
        actor,
      });
      if (duplicate) result.duplicates++;
      else result.added++;
    } catch (err) {
      const e = toEdgeloopError(err);
      if (e.code === 'INTERNAL') throw err;
      result.failed.push({ source: job.source, reason: `${e.code}: ${e.message}` });
    }
  }
  return result;
}
