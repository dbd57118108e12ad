/** Samples: devices upload them; admins list, view, label and mark them used in training. */
import {
  ACTOR_HEADER,
  LabelSampleSchema,
  MarkSamplesUsedSchema,
  NotFoundError,
  PROTOCOL_VERSION,
  ValidationError,
} from '@edgeloop/shared';
import { Hono } from 'hono';
import { acceptSample } from '../../samples/sample-intake.ts';
import { publicSample } from '../../store/store.ts';
import { actorOf } from '../actor.ts';
import { deviceIdOf, requireRole } from '../auth.ts';
import { formText, limitBody, readForm, readJson } from '../body.ts';
import type { AppDeps, AppEnv } from '../env.ts';
import { createLabelling, publicLabelled } from './labelling.ts';

const FORM_OVERHEAD_BYTES = 64 * 1024;

function intParam(raw: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new ValidationError(`query '${name}' must be an integer from ${min} to ${max}`);
  }
  return value;
}

function labelledParam(raw: string | undefined): boolean | undefined {
  if (raw === undefined) return undefined;
  if (raw === 'true' || raw === 'false') return raw === 'true';
  throw new ValidationError("query 'labelled' must be true or false");
}

export function sampleRoutes(deps: AppDeps) {
  const { store, objects, config } = deps;
  const labelling = createLabelling(store);

  function findSample(id: string) {
    const sample = store.getSample(id);
    if (!sample) throw new NotFoundError(`sample '${id}' not found`);
    return sample;
  }

  return new Hono<AppEnv>()
    .post(
      '/samples',
      requireRole(deps, 'device'),
      limitBody(config.limits.sampleMaxBytes + FORM_OVERHEAD_BYTES, 'sample upload'),
      async (c) => {
        const deviceId = deviceIdOf(c);
        const form = await readForm(c);
        const image = form.get('image');
        if (image === null || typeof image === 'string') {
          throw new ValidationError("multipart field 'image' is required as a file");
        }
        const { sample, duplicate } = await acceptSample(
          {
            store,
            objects,
            sampleMaxBytes: config.limits.sampleMaxBytes,
            sampleMaxPixels: config.limits.sampleMaxPixels,
          },
          {
            deviceId,
            metadataJson: formText(form, 'metadata'),
            image: new Uint8Array(await image.arrayBuffer()),
          },
        );
        if (!duplicate) deps.logger.info({ deviceId, sampleId: sample.sampleId }, 'sample received');
        const body = {
          protocol: PROTOCOL_VERSION,
          sampleId: sample.sampleId,
          duplicate,
          sample: publicSample(sample),
        };
        return c.json(body, duplicate ? 200 : 201);
      },
    )
    .get('/samples', requireRole(deps, 'admin'), (c) => {
      const { samples, total } = store.listSamples({
        labelled: labelledParam(c.req.query('labelled')),
        limit: intParam(c.req.query('limit'), 'limit', 100, 1, 1000),
        offset: intParam(c.req.query('offset'), 'offset', 0, 0, Number.MAX_SAFE_INTEGER),
      });
      return c.json({ samples: samples.map(publicSample), total });
    })
    .get('/samples/:id/image', requireRole(deps, 'admin'), async (c) => {
      const sample = findSample(c.req.param('id'));
      const bytes = await objects.get(sample.objectKey);
      return new Response(bytes, {
        headers: { 'Content-Type': sample.contentType, 'Content-Length': String(bytes.byteLength) },
      });
    })
    .post('/samples/used', requireRole(deps, 'admin'), async (c) => {
      const request = await readJson(c, MarkSamplesUsedSchema, 'samples-used request');
      return c.json({ updated: store.markSamplesUsed(request.sampleIds, request.modelVersion) });
    })
    .post('/samples/:id/label', requireRole(deps, 'admin'), async (c) => {
      const request = await readJson(c, LabelSampleSchema, 'label');
      // labelledBy in the body predates X-Edgeloop-Actor; the header wins over the default.
      const actor =
        c.req.header(ACTOR_HEADER) && request.labelledBy === 'admin' ? actorOf(c) : request.labelledBy;
      const sample = labelling.setLabel(c.req.param('id'), request.label, actor);
      return c.json(publicLabelled(sample));
    });
}
