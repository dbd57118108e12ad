/** Labelling: the queue, label actions, bulk confirm, label history and the project's classes. */
import { type LabelledSample, NotFoundError } from '@edgeloop/shared';
import { createLabelling } from '../../labelling/labelling.ts';
import type { LabelledSampleRecord } from '../../store/labelling-store.ts';
import { actorOf } from '../actor.ts';
import { handlers } from '../contract-routes.ts';
import type { AppDeps } from '../env.ts';

function publicLabelled(record: LabelledSampleRecord): LabelledSample {
  const { objectKey: _key, contentType: _type, embedding: _embedding, ...sample } = record;
  return sample;
}

export function labellingHandlers(deps: AppDeps) {
  const { store } = deps;
  const labelling = createLabelling(store);
  const classes = async () => ({ classes: await store.labelling.listClasses() });
  return handlers({
    getLabelQueue: async ({ query }) => {
      const { samples, total } = await labelling.queue(query.limit);
      return { status: 200, body: { samples: samples.map(publicLabelled), total } };
    },
    bulkConfirm: async ({ body }, c) => ({
      status: 200,
      body: await labelling.bulkConfirm(body.sampleIds, actorOf(c)),
    }),
    labelSample: async ({ params, body }, c) => ({
      status: 200,
      body: publicLabelled(await labelling.act(params.id, body, actorOf(c))),
    }),
    getLabelledSample: async ({ params }) => {
      const sample = await store.labelling.getLabelled(params.id);
      if (!sample) throw new NotFoundError(`sample '${params.id}' not found`);
      return {
        status: 200,
        body: { sample: publicLabelled(sample), history: await store.labelling.history(sample.sampleId) },
      };
    },
    listClasses: async () => ({ status: 200, body: await classes() }),
    addClass: async ({ body }, c) => {
      const created = await store.labelling.addClass(body.name, actorOf(c), new Date().toISOString());
      return { status: created ? 201 : 200, body: await classes() };
    },
  });
}
