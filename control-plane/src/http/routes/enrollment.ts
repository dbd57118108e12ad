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
      const { response, device } = await enrollDevice(
        deps.store,
        body,
        deps.mqttPublicUrl,
        new Date(),
        deps.tls ?? null,
      );
      log.info({ deviceId: device.deviceId, group: device.group }, 'device enrolled');
      // A re-enrolled device's old secret must stop working now, not when its cached check ends.
      deps.devices.forget(device.deviceId);
      // Give the new device a retained desired state to find when it first subscribes: the
      // version its group/tag target says (a wiped device that enrolls again gets it too).
      const converging = await deps.convergence.converge([device.deviceId]);
      if (converging.length === 0) await deps.desired.publish([device.deviceId]);
      await deps.desiredConfig?.publish([device.deviceId]);
      return { status: 201, body: response };
    },
  });
}
