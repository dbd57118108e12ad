import { AssignModelSchema } from '@edgeloop/shared';
import { Hono } from 'hono';
import { assignModel } from '../../fleet/assignments.ts';
import { requireRole } from '../auth.ts';
import { readJson } from '../body.ts';
import type { AppDeps, AppEnv } from '../env.ts';

export function assignmentRoutes(deps: AppDeps) {
  return new Hono<AppEnv>().post('/assignments', requireRole(deps, 'admin'), async (c) => {
    const request = await readJson(c, AssignModelSchema, 'assignment');
    const devices = await assignModel(deps, request);
    deps.logger.info({ modelVersion: request.modelVersion, devices }, 'model assigned');
    return c.json({ devices });
  });
}
