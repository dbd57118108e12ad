/**
 * The control plane's HTTP API, every route once (see route.ts for what a route is). The server
 * must serve exactly these (its handler table is typed against this map), clients call through
 * them, and `GET /api/v1/openapi.json` is generated from them.
 */
import { z } from 'zod';
import { defineRoute } from './route.ts';
import { agentVersionRoutes } from './routes/agent-versions.ts';
import { alertRoutes } from './routes/alerts.ts';
import { brokerHookRoutes } from './routes/broker-hooks.ts';
import { configRoutes } from './routes/config.ts';
import { dashboardRoutes } from './routes/dashboard.ts';
import { datasetRoutes } from './routes/datasets.ts';
import { deviceIdentityRoutes } from './routes/device-identity.ts';
import { deviceRoutes } from './routes/devices.ts';
import { labellingRoutes } from './routes/labelling.ts';
import { modelRoutes } from './routes/models.ts';
import { pipelineRoutes } from './routes/pipeline.ts';
import { registryRoutes } from './routes/registry.ts';
import { rolloutRoutes } from './routes/rollouts.ts';
import { sampleRoutes } from './routes/samples.ts';

const systemRoutes = {
  getOpenApi: defineRoute({
    id: 'getOpenApi',
    method: 'GET',
    path: '/openapi.json',
    tag: 'system',
    summary: 'This API as an OpenAPI 3.1 document',
    access: [],
    responses: {
      200: { type: 'json', schema: z.record(z.string(), z.unknown()), description: 'the document' },
    },
  }),
} as const;

export const apiRoutes = {
  ...systemRoutes,
  ...deviceRoutes,
  ...deviceIdentityRoutes,
  ...modelRoutes,
  ...sampleRoutes,
  ...rolloutRoutes,
  ...agentVersionRoutes,
  ...labellingRoutes,
  ...datasetRoutes,
  ...registryRoutes,
  ...pipelineRoutes,
  ...configRoutes,
  ...dashboardRoutes,
  ...alertRoutes,
  ...brokerHookRoutes,
} as const;

export type ApiRoutes = typeof apiRoutes;
export type RouteId = keyof ApiRoutes;
