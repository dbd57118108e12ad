/** Alerts for the dashboard's header: the open count and the list. */
import { EdgeloopError } from '@edgeloop/shared';
import { handlers } from '../contract-routes.ts';
import type { AppDeps } from '../env.ts';

export function alertHandlers(deps: AppDeps) {
  return handlers({
    listAlerts: async ({ query }) => {
      if (!deps.alerts) throw new EdgeloopError('INTERNAL', 'alerts are not wired into this app');
      return { status: 200, body: await deps.alerts.list(query) };
    },
  });
}
