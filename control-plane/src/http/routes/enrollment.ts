/** Enrollment tokens (operators) and device enrollment (token holders, no other auth). */
import { EdgeloopError, RateLimitedError } from '@edgeloop/shared';
import { sha256Text } from '../../auth/secrets.ts';
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
      const existed = body.deviceId ? await deps.store.devices.exists(body.deviceId) : false;
      const enrolled = async () => {
        if (body.deviceId) await deps.brokerIdentities?.assertAvailable(body.deviceId);
        return enrollDevice(deps.store, body, deps.mqttPublicUrl, new Date(), deps.tls ?? null);
      };
      // Any refusal is charged, as when every attempt was spent up front; not a busy hashing
      // queue (that attempt was never checked) nor a broker that did not answer (not the caller's).
      const { response, device } = await enrolled().catch(async (err: unknown) => {
        const notTheirs =
          err instanceof RateLimitedError || (err instanceof EdgeloopError && err.code === 'UPSTREAM_FAILED');
        if (!notTheirs) await attempt?.failed();
        throw err;
      });
      // A certificate-only device has no password to give an external broker (docs/security.md).
      if (response.secret !== '' && deps.brokerIdentities) {
        try {
          await deps.brokerIdentities.provisionDevice(device.deviceId, response.secret);
        } catch (err) {
          // The device never learns this secret: give the token its use back (and drop a device
          // this enrollment created), so its retry can succeed even with a single-use token.
          await deps.store.devices.undoEnrollment(sha256Text(body.token), device.deviceId, !existed);
          throw err;
        }
      }
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
