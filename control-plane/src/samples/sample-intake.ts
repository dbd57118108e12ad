/**
 * Receiving a sample from a device: validate the metadata and the image, store the bytes (content
 * addressed, so a retry rewrites the same object) and only then the row, so a 201 means both are
 * durable. Retries with the same idempotency key return the first sample.
 */
import {
  EdgeloopError,
  parseJsonWith,
  type SampleMetadata,
  SampleMetadataSchema,
  sha256Hex,
} from '@edgeloop/shared';
import type { ObjectStore } from '../object-store/object-store.ts';
import type { SampleRecord, Store } from '../store/store.ts';
import { probeImage } from './image-probe.ts';

export interface SampleUpload {
  deviceId: string;
  metadataJson: string;
  image: Uint8Array;
}

export interface SampleIntakeDeps {
  store: Store;
  objects: ObjectStore;
  sampleMaxBytes: number;
  sampleMaxPixels: number;
}

export async function acceptSample(
  deps: SampleIntakeDeps,
  upload: SampleUpload,
  now = new Date(),
): Promise<{ sample: SampleRecord; duplicate: boolean }> {
  const metadata = parseJsonWith(SampleMetadataSchema, upload.metadataJson, 'sample metadata');
  return storeSample(deps, { deviceId: upload.deviceId, metadata, image: upload.image }, now);
}

/** The already parsed form of acceptSample (a committed direct upload arrives this way). */
export async function storeSample(
  deps: SampleIntakeDeps,
  upload: { deviceId: string; metadata: SampleMetadata; image: Uint8Array },
  now = new Date(),
): Promise<{ sample: SampleRecord; duplicate: boolean }> {
  const { metadata } = upload;
  const existing = await deps.store.samples.findByKey(upload.deviceId, metadata.idempotencyKey);
  if (existing) return { sample: existing, duplicate: true };

  if (upload.image.byteLength > deps.sampleMaxBytes) {
    throw new EdgeloopError('PAYLOAD_TOO_LARGE', `image exceeds ${deps.sampleMaxBytes} bytes`);
  }
  const info = await probeImage(upload.image, deps.sampleMaxPixels);
  const sha256 = sha256Hex(upload.image);
  const objectKey = `samples/${sha256}.${info.extension}`;
  if (!(await deps.objects.has(objectKey))) await deps.objects.put(objectKey, upload.image);

  const result = await deps.store.samples.insert(
    {
      deviceId: upload.deviceId,
      metadata,
      sha256,
      objectKey,
      contentType: info.contentType,
      bytes: upload.image.byteLength,
      width: info.width,
      height: info.height,
    },
    now.toISOString(),
  );
  if (!result.duplicate || result.sample.deviceId === upload.deviceId) return result;
  return { sample: asSeenBy(result.sample, upload.deviceId, metadata, now.toISOString()), duplicate: true };
}

/**
 * A duplicate of an image another device sent first, as the uploading device may see it: its own
 * metadata on the shared image. The first device's record (its id, predictions, camera, labels and
 * who gave them) is not the uploader's to read.
 */
function asSeenBy(
  first: SampleRecord,
  deviceId: string,
  metadata: SampleMetadata,
  receivedAt: string,
): SampleRecord {
  return {
    ...first,
    deviceId,
    modelVersion: metadata.modelVersion,
    frameId: metadata.frameId,
    capturedAt: metadata.capturedAt,
    receivedAt,
    reason: metadata.reason,
    topK: metadata.topK,
    confidence: metadata.topK.reduce((max, s) => Math.max(max, s.confidence), 0),
    label: null,
    labelledBy: null,
    labelledAt: null,
    usedInModelVersion: null,
    cameraId: metadata.cameraId ?? null,
    embedding: metadata.embedding ?? null,
  };
}
