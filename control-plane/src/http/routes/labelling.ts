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
  const classes = () => ({ classes: store.labelling.listClasses() });
  return handlers({
    getLabelQueue: ({ query }) => {
      const { samples, total } = labelling.queue(query.limit);
      return { status: 200, body: { samples: samples.map(publicLabelled), total } };
    },
    bulkConfirm: ({ body }, c) => ({ status: 200, body: labelling.bulkConfirm(body.sampleIds, actorOf(c)) }),
    labelSample: ({ params, body }, c) => ({
      status: 200,
      body: publicLabelled(labelling.act(params.id, body, actorOf(c))),
    }),
    getLabelledSample: ({ params }) => {
      const sample = store.labelling.getLabelled(params.id);
      if (!sample) throw new NotFoundError(`sample '${params.id}' not found`);
      return {
        status: 200,
        body: { sample: publicLabelled(sample), history: store.labelling.history(sample.sampleId) },
      };
    },
    listClasses: () => ({ status: 200, body: classes() }),
    addClass: ({ body }, c) => {
      const created = store.labelling.addClass(body.name, actorOf(c), new Date().toISOString());
      return created ? { status: 201, body: classes() } : { status: 200, body: classes() };
    },
  });
}
