/** The retraining pipeline: trigger a run, its history, one run, cancel. */
import { PipelineRunListSchema, PipelineRunSchema, TriggerPipelineSchema } from '../../schemas/loop.ts';
import { IdParamsSchema } from '../bodies.ts';
import { defineRoute } from '../route.ts';

export const pipelineRoutes = {
  triggerPipeline: defineRoute({
    id: 'triggerPipeline',
    method: 'POST',
    path: '/pipeline/runs',
    tag: 'pipeline',
    summary: 'Queue a retraining run by hand',
    access: ['operator'],
    body: { type: 'json', schema: TriggerPipelineSchema },
    responses: { 202: { type: 'json', schema: PipelineRunSchema, description: 'queued' } },
  }),
  listPipelineRuns: defineRoute({
    id: 'listPipelineRuns',
    method: 'GET',
    path: '/pipeline/runs',
    tag: 'pipeline',
    summary: 'The last 50 runs',
    access: ['viewer'],
    responses: { 200: { type: 'json', schema: PipelineRunListSchema, description: 'runs' } },
  }),
  getPipelineRun: defineRoute({
    id: 'getPipelineRun',
    method: 'GET',
    path: '/pipeline/runs/{id}',
    tag: 'pipeline',
    summary: 'One run with its steps, logs and artifacts',
    access: ['viewer'],
    params: IdParamsSchema,
    responses: { 200: { type: 'json', schema: PipelineRunSchema, description: 'the run' } },
  }),
  cancelPipelineRun: defineRoute({
    id: 'cancelPipelineRun',
    method: 'POST',
    path: '/pipeline/runs/{id}/cancel',
    tag: 'pipeline',
    summary: 'Cancel a queued or running run',
    access: ['operator'],
    params: IdParamsSchema,
    responses: { 200: { type: 'json', schema: PipelineRunSchema, description: 'the run now' } },
  }),
} as const;
