/**
 * Publishing a model version: check every uploaded file against the uploader's manifest, validate
 * the model folder's JSON (metrics.json, the labels file, and that they agree with the manifest),
 * number the version (the next free one, or the uploader's explicit request if it is newer than
 * the latest), sign the manifest with that number and the control plane's key, store the files,
 * then record the version. Nothing is stored unless every check passed.
 */
import {
  ChecksumError,
  ConflictError,
  EdgeloopError,
  MODEL_FOLDER,
  type ModelMetrics,
  type ModelVersionSummary,
  parseJsonWith,
  parseModelFolder,
  type SigningKey,
  sha256Hex,
  signManifest,
  type UnsignedManifest,
  UnsignedManifestSchema,
  ValidationError,
} from '@edgeloop/shared';
import type { ObjectStore } from '../object-store/object-store.ts';
import type { ModelVersionRecord, Store } from '../store/store.ts';

export interface ModelUpload {
  manifestJson: string;
  metricsJson?: string;
  files: ReadonlyMap<string, Uint8Array>;
}

export interface ModelRegistryDeps {
  store: Store;
  objects: ObjectStore;
  signingKey: SigningKey;
  manifestTtlDays: number;
  modelMaxBytes: number;
}

export function modelFileKey(modelVersion: number, name: string): string {
  return `models/${modelVersion}/${name}`;
}

export function summaryOf(record: ModelVersionRecord): ModelVersionSummary {
  return {
    modelVersion: record.modelVersion,
    name: record.name,
    labels: record.manifest.labels,
    createdAt: record.createdAt,
    publishedAt: record.publishedAt,
    metrics: record.metrics,
    files: record.manifest.files.map(({ name, bytes, sha256 }) => ({ name, bytes, sha256 })),
  };
}

/** The version to publish as: the request when it is newer than the latest, else refused; none → next. */
async function nextVersion(store: Store, requested: number | undefined): Promise<number> {
  const latest = await store.models.latestVersion();
  if (requested === undefined) return (latest ?? 0) + 1;
  if (latest !== null && requested <= latest) {
    throw new ConflictError(`model version ${requested} must be greater than the latest version ${latest}`);
  }
  return requested;
}

function checkFiles(
  manifest: UnsignedManifest,
  files: ReadonlyMap<string, Uint8Array>,
  maxBytes: number,
): void {
  const names = new Set(manifest.files.map((f) => f.name));
  if (names.size !== manifest.files.length) throw new ValidationError('manifest lists a file name twice');
  const extra = [...files.keys()].filter((name) => !names.has(name));
  if (extra.length > 0) throw new ValidationError(`uploaded files not in the manifest: ${extra.join(', ')}`);
  const missing = manifest.files.filter((f) => !files.has(f.name)).map((f) => f.name);
  if (missing.length > 0) throw new ValidationError(`manifest files not uploaded: ${missing.join(', ')}`);
  const total = [...files.values()].reduce((sum, bytes) => sum + bytes.byteLength, 0);
  if (total > maxBytes) throw new EdgeloopError('PAYLOAD_TOO_LARGE', `model files exceed ${maxBytes} bytes`);
  for (const file of manifest.files) {
    const bytes = files.get(file.name)!;
    if (bytes.byteLength !== file.bytes) {
      throw new ChecksumError(
        `${file.name}: ${bytes.byteLength} bytes uploaded, manifest says ${file.bytes}`,
      );
    }
    if (sha256Hex(bytes) !== file.sha256) {
      throw new ChecksumError(`${file.name}: sha256 does not match the manifest`);
    }
  }
}

/** The text of an uploaded JSON file, parsed; MODEL_INVALID naming the file when it is not JSON. */
function uploadedJson(text: string | Uint8Array, file: string): unknown {
  try {
    return JSON.parse(typeof text === 'string' ? text : new TextDecoder().decode(text)) as unknown;
  } catch (err) {
    throw new EdgeloopError('MODEL_INVALID', `model upload: ${file}: not JSON (${(err as Error).message})`);
  }
}

/**
 * The upload as a model folder (shared ModelFolderSchema): metrics.json from the `metrics` field,
 * labels.json from the file the manifest gives role 'labels'. Returns the metrics as uploaded, so
 * fields this version of the schema does not know are kept.
 */
function checkModelFolder(
  manifest: UnsignedManifest,
  metricsJson: string | undefined,
  files: ReadonlyMap<string, Uint8Array>,
): ModelMetrics | null {
  const labelsFile = manifest.files.find((f) => f.role === 'labels');
  const metrics = metricsJson === undefined ? undefined : uploadedJson(metricsJson, MODEL_FOLDER.metrics);
  parseModelFolder(
    {
      [MODEL_FOLDER.manifest]: manifest,
      [MODEL_FOLDER.labels]: labelsFile
        ? uploadedJson(files.get(labelsFile.name)!, labelsFile.name)
        : undefined,
      [MODEL_FOLDER.metrics]: metrics,
    },
    'model upload',
  );
  return (metrics as ModelMetrics | undefined) ?? null;
}

export interface ModelRegistry {
  /** Publishes an upload; the summary says which version the control plane gave it. */
  publish(upload: ModelUpload, now?: Date): Promise<ModelVersionSummary>;
}

export function createModelRegistry(deps: ModelRegistryDeps): ModelRegistry {
  // Publishes run one at a time, so the version is chosen and recorded atomically: two uploads
  // never get the same number or write over each other's files.
  let tail: Promise<unknown> = Promise.resolve();

  async function publishNow(upload: ModelUpload, now: Date): Promise<ModelVersionSummary> {
    const unsigned = parseJsonWith(UnsignedManifestSchema, upload.manifestJson, 'manifest');
    checkFiles(unsigned, upload.files, deps.modelMaxBytes);
    const metrics = checkModelFolder(unsigned, upload.metricsJson, upload.files);
    const version = await nextVersion(deps.store, unsigned.modelVersion);

    const expiresAt = new Date(now.getTime() + deps.manifestTtlDays * 86_400_000).toISOString();
    const manifest = signManifest({ ...unsigned, modelVersion: version, expiresAt }, deps.signingKey);
    try {
      for (const file of manifest.files) {
        await deps.objects.put(modelFileKey(version, file.name), upload.files.get(file.name)!);
      }
      const record: ModelVersionRecord = {
        modelVersion: version,
        name: manifest.name,
        manifest,
        metrics,
        createdAt: manifest.createdAt,
        publishedAt: now.toISOString(),
      };
      await deps.store.models.insert(record);
      return summaryOf(record);
    } catch (err) {
      await Promise.allSettled(manifest.files.map((f) => deps.objects.delete(modelFileKey(version, f.name))));
      throw err;
    }
  }

  return {
    publish(upload, now = new Date()) {
      const result = tail.then(() => publishNow(upload, now));
      tail = result.catch(() => undefined);
      return result;
    },
  };
}
