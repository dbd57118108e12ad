/** Enrollment tokens (operators) and device enrollment (token holders, no other auth). */
import { createEnrollmentToken, enrollDevice } from '../../devices/enrollment.ts';
import { handlers } from '../contract-routes.ts';
import type { AppDeps } from '../env.ts';

export function enrollmentHandlers(deps: AppDeps) {
  const log = deps.logger;
  return handlers({
    createEnrollmentToken: ({ body }) => {
      const token = createEnrollmentToken(deps.store, body);
      log.info(
        { group: body.group, uses: body.uses, expiresAt: token.expiresAt },
        'enrollment token created',
      );
      return { status: 201, body: token };
    },
    enrollDevice: async ({ body }) => {
      const { response, device } = await enrollDevice(deps.store, body, deps.mqttPublicUrl);
      log.info({ deviceId: device.deviceId, group: device.group }, 'device enrolled');
      // Give the new device a retained desired state to find when it first subscribes.
      await deps.desired.publish([device.deviceId]);
      await deps.desiredConfig?.publish([device.deviceId]);
      return { status: 201, body: response };
    },
  });
}
