/** Alerts: what the dashboard's header shows (open count and list). */
import { AlertListSchema, AlertQuerySchema } from '../../schemas/alert.ts';
import { defineRoute } from '../route.ts';

export const alertRoutes = {
  listAlerts: defineRoute({
    id: 'listAlerts',
    method: 'GET',
    path: '/alerts',
    tag: 'alerts',
    summary: 'Open alerts (firing, and recent one-shot notifications) or all, newest first',
    access: ['viewer'],
    query: AlertQuerySchema,
    responses: { 200: { type: 'json', schema: AlertListSchema, description: 'alerts and the open count' } },
  }),
} as const;
