/**
 * Bulk imports into a dataset, from a prefix of the control plane's own object store (a folder or
 * an S3 prefix laid out as `prefix/<class>/<file>`) or from a list of URLs with their labels.
 * One bad image does not stop an import: it is reported in `failed` with its reason.
 */
import {
  ClassNameSchema,
  type DatasetImport,
  type DatasetImportResult,
  EdgeloopError,
  toEdgeloopError,
} from '@edgeloop/shared';
import { addDatasetImage, type DatasetImageDeps } from './dataset-images.ts';

/** A URL that has not answered in this long is reported as failed. */
const URL_TIMEOUT_MS = 30_000;

async function fetchImage(url: string, maxBytes: number): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(URL_TIMEOUT_MS), redirect: 'follow' });
  } catch (err) {
    throw new EdgeloopError('UPSTREAM_FAILED', `fetch failed: ${(err as Error).message}`);
  }
  if (!res.ok) throw new EdgeloopError('UPSTREAM_FAILED', `HTTP ${res.status}`);
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw new EdgeloopError('PAYLOAD_TOO_LARGE', `image exceeds ${maxBytes} bytes`);
  }
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (bytes.byteLength > maxBytes)
    throw new EdgeloopError('PAYLOAD_TOO_LARGE', `image exceeds ${maxBytes} bytes`);
  return bytes;
}

/** `prefix/<class>/<file>` → class; anything not two levels below the prefix has no class. */
export function classOfKey(prefix: string, key: string): string | null {
  const rest = key.slice(prefix.length).replace(/^\//, '').split('/');
  if (rest.length !== 2) return null;
  return ClassNameSchema.safeParse(rest[0]).success ? rest[0] : null;
}

export async function importIntoDataset(
  deps: DatasetImageDeps,
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
        load: () => fetchImage(item.url, deps.maxBytes),
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
