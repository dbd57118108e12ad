/** Samples: devices upload them; people list and view them (labelling has its own routes). */
import { NotFoundError, PROTOCOL_VERSION } from '@edgeloop/shared';
import { commitSample, issueSampleSlot } from '../../samples/sample-direct-upload.ts';
import { acceptSample, type SampleIntakeDeps } from '../../samples/sample-intake.ts';
import { publicSample, type SampleRecord } from '../../store/store.ts';
import { deviceIdOf } from '../auth.ts';
import { handlers } from '../contract-routes.ts';
import type { AppDeps } from '../env.ts';

export function sampleHandlers(deps: AppDeps) {
  const { store, objects, config } = deps;
  const intake: SampleIntakeDeps = {
    store,
    objects,
    sampleMaxBytes: config.limits.sampleMaxBytes,
    sampleMaxPixels: config.limits.sampleMaxPixels,
  };
  const reply = (deviceId: string, { sample, duplicate }: { sample: SampleRecord; duplicate: boolean }) => {
    if (!duplicate) deps.logger.info({ deviceId, sampleId: sample.sampleId }, 'sample received');
    const body = {
      protocol: PROTOCOL_VERSION,
      sampleId: sample.sampleId,
      duplicate,
      sample: publicSample(sample),
    };
    return duplicate ? { status: 200 as const, body } : { status: 201 as const, body };
  };
  return handlers({
    uploadSample: async ({ body }, c) => {
      const deviceId = deviceIdOf(c);
      const image = new Uint8Array(await body.image.arrayBuffer());
      await deps.quotas?.sample(deviceId, image.byteLength);
      return reply(deviceId, await acceptSample(intake, { deviceId, metadataJson: body.metadata, image }));
    },
    requestSampleUpload: async ({ body }, c) => {
      const deviceId = deviceIdOf(c);
      // Spent here, where the bytes are asked for: the same quota as a posted sample.
      if (objects.presigner) await deps.quotas?.sample(deviceId, body.bytes);
      const slot = await issueSampleSlot(intake, deviceId, body);
      // The URL is a bearer credential: only the device and key ever reach the log.
      if (slot.transfer === 'presigned') {
        deps.logger.debug({ deviceId, idempotencyKey: body.idempotencyKey }, 'sample upload slot issued');
      }
      return { status: 200, body: slot };
    },
    commitSampleUpload: async ({ body }, c) => {
      const deviceId = deviceIdOf(c);
      return reply(deviceId, await commitSample(intake, deviceId, body));
    },
    listSamples: async ({ query }) => {
      const { samples, total } = await store.samples.list(query);
      return { status: 200, body: { samples: samples.map(publicSample), total } };
    },
    getSampleImage: async ({ params }) => {
      const sample = await store.samples.get(params.id);
      if (!sample) throw new NotFoundError(`sample '${params.id}' not found`);
      const bytes = await objects.get(sample.objectKey);
      return new Response(bytes, {
        headers: { 'Content-Type': sample.contentType, 'Content-Length': String(bytes.byteLength) },
      });
    },
  });
}
