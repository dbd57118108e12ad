/** Enrollment tokens (admin) and device enrollment (token holders, no other auth). */
import { CreateEnrollmentTokenSchema, EnrollRequestSchema } from '@edgeloop/shared';
import { Hono } from 'hono';
import { createEnrollmentToken, enrollDevice } from '../../devices/enrollment.ts';
import { requireRole } from '../auth.ts';
import { readJson } from '../body.ts';
import type { AppDeps, AppEnv } from '../env.ts';

export function enrollmentRoutes(deps: AppDeps) {
  const log = deps.logger;
  return new Hono<AppEnv>()
    .post('/enrollment-tokens', requireRole(deps, 'admin'), async (c) => {
      const input = await readJson(c, CreateEnrollmentTokenSchema, 'enrollment token request');
      const token = createEnrollmentToken(deps.store, input);
      log.info(
        { group: input.group, uses: input.uses, expiresAt: token.expiresAt },
        'enrollment token created',
      );
      return c.json(token, 201);
    })
    .post('/devices/enroll', async (c) => {
      const request = await readJson(c, EnrollRequestSchema, 'enrollment request');
      const { response, device } = await enrollDevice(deps.store, request, deps.mqttPublicUrl);
      log.info({ deviceId: device.deviceId, group: device.group }, 'device enrolled');
      // Give the new device a retained desired state to find when it first subscribes.
      await deps.desired.publish([device.deviceId]);
      return c.json(response, 201);
    });
}
