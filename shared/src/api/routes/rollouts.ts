/** Staged, health-gated rollouts of a model version. */
import { z } from 'zod';
import { CreateRolloutSchema, RolloutActionSchema, RolloutSchema } from '../../schemas/rollout.ts';
import { IdParamsSchema } from '../bodies.ts';
import { defineRoute, type RouteDef } from '../route.ts';

function action<const Id extends string>(id: Id, verb: string, summary: string) {
  return defineRoute({
    id,
    method: 'POST',
    path: `/rollouts/{id}/${verb}`,
    tag: 'rollouts',
    summary,
    access: ['operator'],
    params: IdParamsSchema,
    body: { type: 'json', schema: RolloutActionSchema },
    responses: { 200: { type: 'json', schema: RolloutSchema, description: 'the rollout now' } },
  } satisfies RouteDef);
}

export const rolloutRoutes = {
  createRollout: defineRoute({
    id: 'createRollout',
    method: 'POST',
    path: '/rollouts',
    tag: 'rollouts',
    summary: 'Start a staged rollout: canary, soak behind health gates, then waves',
    access: ['operator'],
    body: { type: 'json', schema: CreateRolloutSchema },
    responses: { 201: { type: 'json', schema: RolloutSchema, description: 'started' } },
  }),
  listRollouts: defineRoute({
    id: 'listRollouts',
    method: 'GET',
    path: '/rollouts',
    tag: 'rollouts',
    summary: 'Every rollout, newest first',
    access: ['viewer'],
    responses: {
      200: { type: 'json', schema: z.object({ rollouts: z.array(RolloutSchema) }), description: 'rollouts' },
    },
  }),
  getRollout: defineRoute({
    id: 'getRollout',
    method: 'GET',
    path: '/rollouts/{id}',
    tag: 'rollouts',
    summary: 'One rollout: waves, gates, every device',
    access: ['viewer'],
    params: IdParamsSchema,
    responses: { 200: { type: 'json', schema: RolloutSchema, description: 'the rollout' } },
  }),
  pauseRollout: action('pauseRollout', 'pause', 'Pause: no further devices are updated'),
  resumeRollout: action('resumeRollout', 'resume', 'Resume a paused rollout'),
  abortRollout: action('abortRollout', 'abort', 'Abort and roll updated devices back'),
  rollbackRollout: action('rollbackRollout', 'rollback', 'Roll every device back, also after completion'),
} as const;
