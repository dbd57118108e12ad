import { Hono } from 'hono';
import type { AppDeps, AppEnv } from '../env.ts';

export function healthRoutes(deps: AppDeps) {
  return new Hono<AppEnv>().get('/health', (c) => c.json({ ok: true as const, version: deps.version }));
}
