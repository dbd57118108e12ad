/** The retraining pipeline: trigger a run by hand, list run history, show one run, cancel. */
import { NotFoundError, TriggerPipelineSchema } from '@edgeloop/shared';
import { Hono } from 'hono';
import { actorOf } from '../actor.ts';
import { requireRole } from '../auth.ts';
import { readJson } from '../body.ts';
import type { AppDeps, AppEnv } from '../env.ts';

export function pipelineRoutes(deps: AppDeps) {
  const { store } = deps;
  const admin = requireRole(deps, 'admin');
  const runner = () => {
    if (!deps.pipeline) throw new NotFoundError('the pipeline is not running in this control plane');
    return deps.pipeline;
  };

  return new Hono<AppEnv>()
    .post('/pipeline/runs', admin, async (c) => {
      await readJson(c, TriggerPipelineSchema, 'pipeline trigger');
      return c.json(runner().trigger('manual', actorOf(c)), 202);
    })
    .get('/pipeline/runs', admin, (c) => c.json({ runs: store.pipeline.listRuns(50) }))
    .get('/pipeline/runs/:id', admin, (c) => {
      const run = store.pipeline.getRun(c.req.param('id'));
      if (!run) throw new NotFoundError(`pipeline run '${c.req.param('id')}' not found`);
      return c.json(run);
    })
    .post('/pipeline/runs/:id/cancel', admin, (c) => c.json(runner().cancel(c.req.param('id'), actorOf(c))));
}
