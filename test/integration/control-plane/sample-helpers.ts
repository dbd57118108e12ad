/** Real, distinct images and sample uploads for control-plane tests. */
import type { SampleMetadata } from '@edgeloop/shared';
import sharp from 'sharp';
import type { Device, TestControlPlane } from './helpers.ts';

/** A small image whose bytes differ for every `seed` (so content-hash dedup keeps them apart). */
export async function testImage(
  seed: number,
  format: 'jpeg' | 'png' = 'png',
  size = 24,
): Promise<Uint8Array> {
  const raw = Buffer.alloc(size * size * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 7 + seed * 131 + ((i * seed) % 17)) % 256;
  const image = sharp(raw, { raw: { width: size, height: size, channels: 3 } });
  return new Uint8Array(await (format === 'png' ? image.png() : image.jpeg()).toBuffer());
}

export function sampleMetadata(key: string, topK: SampleMetadata['topK']): SampleMetadata {
  return {
    protocol: 1,
    idempotencyKey: `sample-key-${key}`,
    modelVersion: null,
    frameId: `frame-${key}`,
    capturedAt: new Date().toISOString(),
    reason: 'low-confidence',
    topK,
  };
}

export async function uploadSample(
  t: TestControlPlane,
  device: Device,
  meta: SampleMetadata,
  image: Uint8Array,
): Promise<{ status: number; body: { sampleId: string; duplicate: boolean } }> {
  const form = new FormData();
  form.set('metadata', JSON.stringify(meta));
  form.set('image', new Blob([image]), 'frame.png');
  const res = await t.api('/samples', { method: 'POST', body: form, device });
  return { status: res.status, body: (await res.json()) as { sampleId: string; duplicate: boolean } };
}

/** Uploads a sample predicted as `label` with `confidence` (the runner-up: half of that). */
export async function sampleFrom(
  t: TestControlPlane,
  device: Device,
  seed: number,
  label: string,
  confidence: number,
  other = 'other',
): Promise<string> {
  const meta = sampleMetadata(`${device.deviceId}-${seed}`, [
    { label, confidence },
    { label: other, confidence: confidence / 2 },
  ]);
  const { status, body } = await uploadSample(t, device, meta, await testImage(seed));
  if (status !== 201) throw new Error(`sample upload: ${status} ${JSON.stringify(body)}`);
  return body.sampleId;
}
