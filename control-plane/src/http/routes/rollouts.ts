/** Rollouts: create, list, status, pause, resume, abort, rollback. */
import { handlers } from '../contract-routes.ts';
import type { AppDeps } from '../env.ts';

export function rolloutHandlers(deps: AppDeps) {
  const { rollouts } = deps;
  return handlers({
    createRollout: async ({ body }) => ({ status: 201, body: await rollouts.create(body) }),
    listRollouts: async () => ({ status: 200, body: { rollouts: await rollouts.list() } }),
    getRollout: async ({ params }) => ({ status: 200, body: await rollouts.get(params.id) }),
    pauseRollout: async ({ params, body }) => ({
      status: 200,
      body: await rollouts.pause(params.id, body.reason),
    }),
    resumeRollout: async ({ params, body }) => ({
      status: 200,
      body: await rollouts.resume(params.id, body.reason),
    }),
    abortRollout: async ({ params, body }) => ({
      status: 200,
      body: await rollouts.abort(params.id, body.reason),
    }),
    rollbackRollout: async ({ params, body }) => ({
      status: 200,
      body: await rollouts.rollback(params.id, body.reason),
    }),
  });
}
