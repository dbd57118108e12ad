/**
 * The HTTP app: the API contract's routes under API_BASE (one handler per route, mounted by
 * contract-routes.ts), the dashboard under /ui, the API docs under /docs and Prometheus metrics
 * at /metrics. One onError turns errors into `{error:{code,message,details}}`.
 */
import { Hono } from 'hono';
import { createAlertEngine } from '../alerts/alert-engine.ts';
import { createWebhookNotifier } from '../alerts/webhook-notifier.ts';
import { createSessions } from '../auth/sessions.ts';
import { createChangeFeed } from '../dashboard/change-feed.ts';
import { dashboardHandlers } from '../dashboard/dashboard-api.ts';
import { dashboardUiRoutes } from '../dashboard/dashboard-ui.ts';
import { apiDocsRoutes } from '../docs/api-docs.ts';
import { createCredentialGuard } from '../limits/credential-guard.ts';
import { createDeviceQuotas } from '../limits/device-quotas.ts';
import { createControlPlaneMetrics } from '../metrics/control-plane-metrics.ts';
import { metricsRoutes } from '../metrics/metrics-route.ts';
import { type Handlers, mountContract } from './contract-routes.ts';
import type { AppDeps, AppEnv } from './env.ts';
import { errorHandler, notFoundHandler } from './errors.ts';
import { agentVersionHandlers } from './routes/agent-versions.ts';
import { alertHandlers } from './routes/alerts.ts';
import { assignmentHandlers } from './routes/assignments.ts';
import { brokerHookHandlers } from './routes/broker-hooks.ts';
import { configHandlers } from './routes/config.ts';
import { datasetHandlers } from './routes/datasets.ts';
import { deviceIdentityHandlers } from './routes/device-identity.ts';
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
    createSessions({
      users: config.users,
      adminToken,
      sessionHours: config.sessionHours,
      revocations: rootDeps.store.sessions,
    });
  const changes =
    rootDeps.changes ?? createChangeFeed({ store: rootDeps.store.dashboard, intervalMs: 1000, logger });
  // Apps built without them (tests of other areas) get idle ones: no evaluation, no webhooks.
  const alerts =
    rootDeps.alerts ??
    createAlertEngine({
      store: rootDeps.store,
      config: config.alerts,
      notifier: createWebhookNotifier({ webhooks: [], delivery: config.alerts.delivery, logger }),
      logger,
    });
  const metrics = rootDeps.metrics ?? createControlPlaneMetrics({ store: rootDeps.store });
  const guard = rootDeps.guard ?? createCredentialGuard(config.rateLimits);
  const quotas =
    rootDeps.quotas ??
    createDeviceQuotas(config.quotas, { logger, onExceeded: (kind) => metrics.quotaExceeded(kind) });
  const deps: AppDeps = { ...rootDeps, logger, sessions, changes, alerts, metrics, guard, quotas };
  const table: Handlers = {
    ...systemHandlers(deps),
    ...enrollmentHandlers(deps),
    ...deviceHandlers(deps),
    ...deviceIdentityHandlers(deps),
    ...modelHandlers(deps),
    ...assignmentHandlers(deps),
    ...sampleHandlers(deps),
    ...rolloutHandlers(deps),
    ...agentVersionHandlers(deps),
    ...labellingHandlers(deps),
    ...datasetHandlers(deps),
    ...registryHandlers(deps),
    ...pipelineHandlers(deps),
    ...configHandlers(deps),
    ...dashboardHandlers(deps, changes),
    ...alertHandlers(deps),
    ...brokerHookHandlers(deps),
  };
  const app = new Hono<AppEnv>();
  mountContract(app, deps, table, { checkResponses: deps.checkResponses, observe: metrics.httpRequest });
  app.route('/', dashboardUiRoutes(deps)).route('/', apiDocsRoutes());
  if (config.metrics.enabled) {
    app.route('/', metricsRoutes(metrics, { ...config.metrics, adminToken }));
  }
  app.onError(errorHandler(deps.logger));
  app.notFound(notFoundHandler);
  return app;
}

export type App = ReturnType<typeof createApp>;
