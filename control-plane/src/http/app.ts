/**
 * The HTTP app: the API contract's routes under API_BASE (one handler per route, mounted by
 * contract-routes.ts), the dashboard under /ui and the API docs under /docs. One onError turns
 * errors into `{error:{code,message,details}}`.
 */
import { Hono } from 'hono';
import { createSessions } from '../auth/sessions.ts';
import { createChangeFeed } from '../dashboard/change-feed.ts';
import { dashboardHandlers } from '../dashboard/dashboard-api.ts';
import { dashboardUiRoutes } from '../dashboard/dashboard-ui.ts';
import { apiDocsRoutes } from '../docs/api-docs.ts';
import { type Handlers, mountContract } from './contract-routes.ts';
import type { AppDeps, AppEnv } from './env.ts';
import { errorHandler, notFoundHandler } from './errors.ts';
import { assignmentHandlers } from './routes/assignments.ts';
import { configHandlers } from './routes/config.ts';
import { datasetHandlers } from './routes/datasets.ts';
import { deviceHandlers } from './routes/devices.ts';
import { enrollmentHandlers } from './routes/enrollment.ts';
import { labellingHandlers } from './routes/labelling.ts';
import { modelHandlers } from './routes/models.ts';
import { pipelineHandlers } from './routes/pipeline.ts';
import { registryHandlers } from './routes/registry.ts';
import { rolloutHandlers } from './routes/rollouts.ts';
import { sampleHandlers } from './routes/samples.ts';
import { systemHandlers } from './routes/system.ts';

export function createApp(rootDeps: AppDeps) {
  const logger = rootDeps.logger.child({ component: 'http' });
  const { config, adminToken } = rootDeps;
  const sessions =
    rootDeps.sessions ??
    createSessions({ users: config.users, adminToken, sessionHours: config.sessionHours });
  const changes =
    rootDeps.changes ?? createChangeFeed({ store: rootDeps.store.dashboard, intervalMs: 1000, logger });
  const deps: AppDeps = { ...rootDeps, logger, sessions, changes };
  const table: Handlers = {
    ...systemHandlers(deps),
    ...enrollmentHandlers(deps),
    ...deviceHandlers(deps),
    ...modelHandlers(deps),
    ...assignmentHandlers(deps),
    ...sampleHandlers(deps),
    ...rolloutHandlers(deps),
    ...labellingHandlers(deps),
    ...datasetHandlers(deps),
    ...registryHandlers(deps),
    ...pipelineHandlers(deps),
    ...configHandlers(deps),
    ...dashboardHandlers(deps, changes),
  };
  const app = new Hono<AppEnv>();
  mountContract(app, deps, table, { checkResponses: deps.checkResponses });
  app.route('/', dashboardUiRoutes(deps)).route('/', apiDocsRoutes());
  app.onError(errorHandler(deps.logger));
  app.notFound(notFoundHandler);
  return app;
}

export type App = ReturnType<typeof createApp>;
