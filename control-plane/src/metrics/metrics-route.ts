/**
 * `GET /metrics` (Prometheus text format), outside the API base path like /docs: Prometheus scrapes it, no
 * person calls it. Who may read it (docs/guides/monitoring.md#who-may-read-metrics):
 * - `Authorization: Bearer <metrics.token>` when a metrics token is configured, or the admin token;
 * - without credentials, only a peer on loopback, and only while `metrics.allowLoopback` holds.
 * The figures name devices' versions and the fleet's size, so they are not public. Behind a
 * reverse proxy on the same host every request comes from loopback: set a token there.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { ForbiddenError, UnauthorizedError } from '@edgeloop/shared';
import { Hono } from 'hono';
import { safeEqual } from '../auth/secrets.ts';
import type { AppEnv } from '../http/env.ts';
import type { ControlPlaneMetrics } from './control-plane-metrics.ts';

export interface MetricsAccess {
  /** A token only for scrapers; the admin token is always accepted too. */
  token?: string;
  adminToken: string;
  allowLoopback: boolean;
}

function isLoopback(address: string | undefined): boolean {
  if (!address || isIP(address) === 0) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

export function metricsRoutes(metrics: ControlPlaneMetrics, access: MetricsAccess) {
  return new Hono<AppEnv>().get('/metrics', async (c) => {
    const header = c.req.header('authorization');
    if (header !== undefined) {
      const [scheme, value = ''] = header.split(' ', 2);
      const ok =
        scheme?.toLowerCase() === 'bearer' &&
        (safeEqual(value, access.adminToken) ||
          (access.token !== undefined && safeEqual(value, access.token)));
      if (!ok) throw new UnauthorizedError('metrics need the metrics token or the admin token');
    } else {
      // The node:http request, which @hono/node-server hands over as the env.
      const peer = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket.remoteAddress;
      if (!access.allowLoopback) throw new UnauthorizedError('metrics need a bearer token');
      if (!isLoopback(peer)) throw new ForbiddenError('metrics without a token are served on loopback only');
    }
    const { contentType, body } = await metrics.render();
    return c.body(body, 200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
  });
}
