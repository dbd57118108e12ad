/** Rollouts (admin): create, list, status, pause, resume, abort, rollback. */
import { CreateRolloutSchema, RolloutActionSchema } from '@edgeloop/shared';
import { Hono } from 'hono';
import { requireRole } from '../auth.ts';
import { readJson } from '../body.ts';
import type { AppDeps, AppEnv } from '../env.ts';

export function rolloutRoutes(deps: AppDeps) {
  const { rollouts } = deps;
  const admin = requireRole(deps, 'admin');
  return new Hono<AppEnv>()
    .post('/rollouts', admin, async (c) => {
      const request = await readJson(c, CreateRolloutSchema, 'rollout');
      return c.json(await rollouts.create(request), 201);
    })
    .get('/rollouts', admin, (c) => c.json({ rollouts: rollouts.list() }))
    .get('/rollouts/:id', admin, (c) => c.json(rollouts.get(c.req.param('id'))))
    .post('/rollouts/:id/pause', admin, async (c) => {
      const { reason } = await readJson(c, RolloutActionSchema, 'rollout action');
      return c.json(rollouts.pause(c.req.param('id'), reason));
    })
    .post('/rollouts/:id/resume', admin, async (c) => {
      const { reason } = await readJson(c, RolloutActionSchema, 'rollout action');
      return c.json(await rollouts.resume(c.req.param('id'), reason));
    })
    .post('/rollouts/:id/abort', admin, async (c) => {
      const { reason } = await readJson(c, RolloutActionSchema, 'rollout action');
      return c.json(await rollouts.abort(c.req.param('id'), reason));
    })
    .post('/rollouts/:id/rollback', admin, async (c) => {
      const { reason } = await readJson(c, RolloutActionSchema, 'rollout action');
      return c.json(await rollouts.rollback(c.req.param('id'), reason));
    });
}
