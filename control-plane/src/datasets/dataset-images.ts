/**
 * Adding one image to a named dataset: the same checks as a device sample (a whole JPEG, PNG or
 * WebP within the byte and pixel limits), stored content-addressed, and deduplicated per dataset
 * by sha256 — importing the same folder twice adds nothing the second time.
 */
import { ClassNameSchema, type DatasetImage, EdgeloopError, parseWith, sha256Hex } from '@edgeloop/shared';
import type { ObjectStore } from '../object-store/object-store.ts';
import { probeImage } from '../samples/image-probe.ts';
import type { DatasetImageRecord } from '../store/dataset-store.ts';
import type { Store } from '../store/store.ts';

export interface DatasetImageDeps {
  store: Store;
  objects: ObjectStore;
  maxBytes: number;
  maxPixels: number;
}

export interface NewDatasetImage {
  dataset: string;
  label: string;
  bytes: Uint8Array;
  /** Where it came from, e.g. `upload:shirts/a.jpg`, `object-store:imports/…`, `url:https://…`. */
  source: string;
  actor: string;
}

export function datasetImageKey(sha256: string, extension: string): string {
  return `datasets/${sha256}.${extension}`;
}

export async function addDatasetImage(
  deps: DatasetImageDeps,
  image: NewDatasetImage,
  now = new Date(),
): Promise<{ image: DatasetImage; duplicate: boolean }> {
  // Every way into a dataset (upload, object-store or URL import) passes here: one label check.
  parseWith(ClassNameSchema, image.label, 'label');
  if (image.bytes.byteLength > deps.maxBytes) {
    throw new EdgeloopError('PAYLOAD_TOO_LARGE', `image exceeds ${deps.maxBytes} bytes`);
  }
  const info = await probeImage(image.bytes, deps.maxPixels);
  const sha256 = sha256Hex(image.bytes);
  const objectKey = datasetImageKey(sha256, info.extension);
  if (!(await deps.objects.has(objectKey))) await deps.objects.put(objectKey, image.bytes);
  const record: DatasetImageRecord = {
    dataset: image.dataset,
    sha256,
    label: image.label,
    bytes: image.bytes.byteLength,
    width: info.width,
    height: info.height,
    source: image.source.slice(0, 1000),
    addedBy: image.actor,
    addedAt: now.toISOString(),
    objectKey,
    contentType: info.contentType,
  };
  const added = await deps.store.datasets.insertImage(record);
  const { objectKey: _k, contentType: _c, ...publicImage } = record;
  return { image: publicImage, duplicate: !added };
}
