/** The retraining pipeline: trigger a run by hand, list run history, show one run, cancel. */
import { NotFoundError } from '@edgeloop/shared';
import { actorOf } from '../actor.ts';
import { handlers } from '../contract-routes.ts';
import type { AppDeps } from '../env.ts';

export function pipelineHandlers(deps: AppDeps) {
  const { store } = deps;
  const runner = () => {
    if (!deps.pipeline) throw new NotFoundError('the pipeline is not running in this control plane');
    return deps.pipeline;
  };
  return handlers({
    triggerPipeline: async (_input, c) => ({
      status: 202,
      body: await runner().trigger('manual', actorOf(c)),
    }),
    listPipelineRuns: async () => ({ status: 200, body: { runs: await store.pipeline.listRuns(50) } }),
    getPipelineRun: async ({ params }) => {
      const run = await store.pipeline.getRun(params.id);
      if (!run) throw new NotFoundError(`pipeline run '${params.id}' not found`);
      return { status: 200, body: run };
    },
    cancelPipelineRun: async ({ params }, c) => ({
      status: 200,
      body: await runner().cancel(params.id, actorOf(c)),
    }),
  });
}
