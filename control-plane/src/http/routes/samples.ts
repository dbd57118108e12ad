/** Samples: devices upload them; people list and view them (labelling has its own routes). */
import { NotFoundError, PROTOCOL_VERSION } from '@edgeloop/shared';
import { acceptSample } from '../../samples/sample-intake.ts';
import { publicSample } from '../../store/store.ts';
import { deviceIdOf } from '../auth.ts';
import { handlers } from '../contract-routes.ts';
import type { AppDeps } from '../env.ts';

export function sampleHandlers(deps: AppDeps) {
  const { store, objects, config } = deps;
  return handlers({
    uploadSample: async ({ body }, c) => {
      const deviceId = deviceIdOf(c);
      const image = new Uint8Array(await body.image.arrayBuffer());
      await deps.quotas?.sample(deviceId, image.byteLength);
      const { sample, duplicate } = await acceptSample(
        {
          store,
          objects,
          sampleMaxBytes: config.limits.sampleMaxBytes,
          sampleMaxPixels: config.limits.sampleMaxPixels,
        },
        { deviceId, metadataJson: body.metadata, image },
      );
      if (!duplicate) deps.logger.info({ deviceId, sampleId: sample.sampleId }, 'sample received');
      const reply = {
        protocol: PROTOCOL_VERSION,
        sampleId: sample.sampleId,
        duplicate,
        sample: publicSample(sample),
      };
      return duplicate ? { status: 200, body: reply } : { status: 201, body: reply };
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
