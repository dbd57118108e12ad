/** Labelling: the queue, label actions, bulk confirm, label history and the project's classes. */
import {
  AddClassSchema,
  BulkConfirmSchema,
  LabelActionSchema,
  type LabelledSample,
  NotFoundError,
  ValidationError,
} from '@edgeloop/shared';
import { Hono } from 'hono';
import { createLabelling } from '../../labelling/labelling.ts';
import type { LabelledSampleRecord } from '../../store/labelling-store.ts';
import { actorOf } from '../actor.ts';
import { requireRole } from '../auth.ts';
import { readJson } from '../body.ts';
import type { AppDeps, AppEnv } from '../env.ts';

export function publicLabelled(record: LabelledSampleRecord): LabelledSample {
  const { objectKey: _key, contentType: _type, ...sample } = record;
  return sample;
}

function limitParam(raw: string | undefined): number {
  if (raw === undefined) return 50;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > 500) throw new ValidationError("query 'limit' must be 1 to 500");
  return n;
}

export function labellingRoutes(deps: AppDeps) {
  const { store } = deps;
  const labelling = createLabelling(store);
  const admin = requireRole(deps, 'admin');

  return new Hono<AppEnv>()
    .get('/labelling/queue', admin, (c) => {
      const { samples, total } = labelling.queue(limitParam(c.req.query('limit')));
      return c.json({ samples: samples.map(publicLabelled), total });
    })
    .post('/labelling/bulk-confirm', admin, async (c) => {
      const request = await readJson(c, BulkConfirmSchema, 'bulk confirm');
      return c.json(labelling.bulkConfirm(request.sampleIds, actorOf(c)));
    })
    .post('/labelling/samples/:id', admin, async (c) => {
      const action = await readJson(c, LabelActionSchema, 'label action');
      const sample = labelling.act(c.req.param('id'), action, actorOf(c));
      return c.json(publicLabelled(sample));
    })
    .get('/labelling/samples/:id', admin, (c) => {
      const sample = store.labelling.getLabelled(c.req.param('id'));
      if (!sample) throw new NotFoundError(`sample '${c.req.param('id')}' not found`);
      return c.json({ sample: publicLabelled(sample), history: store.labelling.history(sample.sampleId) });
    })
    .get('/classes', admin, (c) => c.json({ classes: store.labelling.listClasses() }))
    .post('/classes', admin, async (c) => {
      const request = await readJson(c, AddClassSchema, 'class');
      const created = store.labelling.addClass(request.name, actorOf(c), new Date().toISOString());
      return c.json({ classes: store.labelling.listClasses() }, created ? 201 : 200);
    });
}

export { createLabelling };
