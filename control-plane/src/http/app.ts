/**
 * The HTTP API under /api/v1. Routes are chained so `AppType` carries every route for typed
 * clients (`hc<AppType>`); one onError turns errors into `{error:{code,message,details}}`.
 */
import { Hono } from 'hono';
import { createSessions } from '../auth/sessions.ts';
import { createChangeFeed } from '../dashboard/change-feed.ts';
import { dashboardApiRoutes } from '../dashboard/dashboard-api.ts';
import { dashboardUiRoutes } from '../dashboard/dashboard-ui.ts';
import { limitJsonBodies } from './body.ts';
import type { AppDeps, AppEnv } from './env.ts';
import { errorHandler, notFoundHandler } from './errors.ts';
import { assignmentRoutes } from './routes/assignments.ts';
import { datasetRoutes } from './routes/datasets.ts';
import { deviceRoutes } from './routes/devices.ts';
import { enrollmentRoutes } from './routes/enrollment.ts';
import { healthRoutes } from './routes/health.ts';
import { labellingRoutes } from './routes/labelling.ts';
import { modelRoutes } from './routes/models.ts';
import { pipelineRoutes } from './routes/pipeline.ts';
import { registryRoutes } from './routes/registry.ts';
import { rolloutRoutes } from './routes/rollouts.ts';
import { sampleRoutes } from './routes/samples.ts';

const JSON_BODY_MAX_BYTES = 1024 * 1024;

export function createApp(rootDeps: AppDeps) {
  const logger = rootDeps.logger.child({ component: 'http' });
  const { config, adminToken } = rootDeps;
  const sessions =
    rootDeps.sessions ??
    createSessions({ users: config.users, adminToken, sessionHours: config.sessionHours });
  const changes =
    rootDeps.changes ?? createChangeFeed({ store: rootDeps.store.dashboard, intervalMs: 1000, logger });
  const deps: AppDeps = { ...rootDeps, logger, sessions, changes };
  const api = new Hono<AppEnv>()
    .use(limitJsonBodies(JSON_BODY_MAX_BYTES))
    .route('/', healthRoutes(deps))
    .route('/', enrollmentRoutes(deps))
    .route('/', deviceRoutes(deps))
    .route('/', modelRoutes(deps))
    .route('/', assignmentRoutes(deps))
    .route('/', sampleRoutes(deps))
    .route('/', rolloutRoutes(deps))
    .route('/', labellingRoutes(deps))
    .route('/', datasetRoutes(deps))
    .route('/', registryRoutes(deps))
    .route('/', pipelineRoutes(deps))
    .route('/', dashboardApiRoutes(deps, changes));
  const app = new Hono<AppEnv>().route('/api/v1', api).route('/', dashboardUiRoutes(deps));
  app.onError(errorHandler(deps.logger));
  app.notFound(notFoundHandler);
  return app;
}

export type AppType = ReturnType<typeof createApp>;
