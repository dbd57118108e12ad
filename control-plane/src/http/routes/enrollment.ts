/** Enrollment tokens (operators) and device enrollment (token holders, no other auth). */
import { EdgeloopError, RateLimitedError } from '@edgeloop/shared';
import { createEnrollmentToken, enrollDevice } from '../../devices/enrollment.ts';
import { handlers } from '../contract-routes.ts';
import type { AppDeps } from '../env.ts';
import { clientAddress } from '../server.ts';

export function enrollmentHandlers(deps: AppDeps) {
  const log = deps.logger;
  return handlers({
    createEnrollmentToken: async ({ body }) => {
      const token = await createEnrollmentToken(deps.store, body);
      log.info(
        { group: body.group, uses: body.uses, expiresAt: token.expiresAt },
        'enrollment token created',
      );
      return { status: 201, body: token };
    },
    enrollDevice: async ({ body }, c) => {
      // Refuse before the token is spent when the device could not be given a broker identity.
      if (deps.brokerIdentities && !deps.brokerIdentities.ready()) {
        throw new EdgeloopError('UPSTREAM_FAILED', 'the MQTT broker is not reachable; enroll again shortly');
      }
      const { guard } = deps;
      const attempt = await guard?.admit('enroll', clientAddress(c), body.token);
      const enrolled = async () => {
        if (body.deviceId) await deps.brokerIdentities?.assertAvailable(body.deviceId);
        return enrollDevice(
          deps.store,
          body,
          deps.mqttPublicUrl,
          new Date(),
          (work) => (guard ? guard.hash('enroll', work) : work()),
          deps.tls ?? null,
        );
      };
      // Any refusal is charged, as when every attempt was spent up front; only a busy hashing
      // queue is not (that attempt was never checked).
      const { response, device } = await enrolled().catch(async (err: unknown) => {
        if (!(err instanceof RateLimitedError)) await attempt?.failed();
        throw err;
      });
      // A certificate-only device has no password to give an external broker (docs/security.md).
      if (response.secret !== '')
        await deps.brokerIdentities?.provisionDevice(device.deviceId, response.secret);
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
