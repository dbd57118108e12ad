/**
 * Samples a device sends straight to object storage (S3 with presigned URLs): it asks for a slot,
 * PUTs the image there, then commits. The control plane names the object (per device and
 * idempotency key), so a device can neither pick a key nor reach another device's upload, and the
 * staged object is only a candidate: the commit reads it back, checks it is what the device
 * declared, and stores it through the same intake as a posted sample before answering.
 * Staged objects nobody committed are left under `sample-uploads/` for the bucket's lifecycle rule
 * to expire (docs/deployment.md).
 */
import {
  EdgeloopError,
  NotFoundError,
  PROTOCOL_VERSION,
  type SampleCommit,
  type SampleUploadRequest,
  type SampleUploadSlot,
  sha256Hex,
} from '@edgeloop/shared';
import type { SampleRecord } from '../store/store.ts';
import { type SampleIntakeDeps, storeSample } from './sample-intake.ts';

export const STAGED_SAMPLE_PREFIX = 'sample-uploads/';

/** One object per device and idempotency key: a retried PUT overwrites the same candidate. */
export function stagedSampleKey(deviceId: string, idempotencyKey: string): string {
  return `${STAGED_SAMPLE_PREFIX}${sha256Hex(Buffer.from(`${deviceId}\n${idempotencyKey}`))}`;
}

function tooLarge(bytes: number, max: number): EdgeloopError {
  return new EdgeloopError('PAYLOAD_TOO_LARGE', `image of ${bytes} bytes exceeds ${max} bytes`);
}

export async function issueSampleSlot(
  deps: SampleIntakeDeps,
  deviceId: string,
  request: SampleUploadRequest,
  now = new Date(),
): Promise<SampleUploadSlot> {
  const presigner = deps.objects.presigner;
  if (!presigner) return { protocol: PROTOCOL_VERSION, transfer: 'control-plane' };
  if (request.bytes > deps.sampleMaxBytes) throw tooLarge(request.bytes, deps.sampleMaxBytes);
  const { url, headers } = await presigner.putUrl(stagedSampleKey(deviceId, request.idempotencyKey), {
    contentType: request.contentType,
    contentLength: request.bytes,
    sha256: request.sha256,
  });
  return {
    protocol: PROTOCOL_VERSION,
    transfer: 'presigned',
    url,
    headers,
    expiresAt: new Date(now.getTime() + presigner.expirySeconds * 1000).toISOString(),
  };
}

/** Stores the staged object as the device's sample; a repeat returns the first sample. */
export async function commitSample(
  deps: SampleIntakeDeps,
  deviceId: string,
  commit: SampleCommit,
  now = new Date(),
): Promise<{ sample: SampleRecord; duplicate: boolean }> {
  const key = stagedSampleKey(deviceId, commit.metadata.idempotencyKey);
  const existing = await deps.store.samples.findByKey(deviceId, commit.metadata.idempotencyKey);
  if (existing) {
    // A PUT repeated after the first commit leaves a candidate nobody needs.
    await deps.objects.delete(key);
    return { sample: existing, duplicate: true };
  }
  if (commit.bytes > deps.sampleMaxBytes) throw tooLarge(commit.bytes, deps.sampleMaxBytes);

  const size = await deps.objects.size(key).catch((err: unknown) => {
    if (err instanceof NotFoundError) {
      throw new EdgeloopError('UPLOAD_MISSING', 'nothing was uploaded for this sample: PUT it, then commit');
    }
    throw err;
  });
  const mismatch = async (what: string) => {
    await deps.objects.delete(key);
    return new EdgeloopError('UPLOAD_MISMATCH', `the uploaded object ${what}; it was deleted, upload again`);
  };
  // Checked before reading: the read below is bounded by the sample size limit.
  if (size !== commit.bytes) throw await mismatch(`has ${size} bytes, the commit declares ${commit.bytes}`);
  const image = await deps.objects.get(key);
  const sha256 = sha256Hex(image);
  if (image.byteLength !== commit.bytes || sha256 !== commit.sha256) {
    throw await mismatch(`has sha256 ${sha256}, the commit declares ${commit.sha256}`);
  }

  try {
    const result = await storeSample(deps, { deviceId, metadata: commit.metadata, image }, now);
    await deps.objects.delete(key);
    return result;
  } catch (err) {
    // Refused for good (not an image, too many pixels): the candidate is of no further use.
    if (err instanceof EdgeloopError && err.status < 500) await deps.objects.delete(key);
    throw err;
  }
}
