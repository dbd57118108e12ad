/**
 * Device identity: revocation (admins), a device's own secret rotation, and the manifest signing
 * keys' rotation and retirement (admins).
 */
import { NotFoundError, signManifest, UnauthorizedError } from '@edgeloop/shared';
import { hashDeviceSecret } from '../../auth/secrets.ts';
import { actorOf } from '../actor.ts';
import { deviceIdOf } from '../auth.ts';
import { handlers } from '../contract-routes.ts';
import type { AppDeps } from '../env.ts';

export function deviceIdentityHandlers(deps: AppDeps) {
  const { store, keyring } = deps;
  const log = deps.logger;

  /** After the previous key is retired, nothing a device needs may still carry only its signature. */
  async function resignManifests(): Promise<number> {
    let count = 0;
    for (const version of await store.models.list()) {
      await store.models.updateManifest(version.modelVersion, signManifest(version.manifest, keyring.active));
      const rollback = await store.rollouts.getRollbackManifest(version.modelVersion);
      if (rollback) {
        await store.rollouts.putRollbackManifest(
          version.modelVersion,
          signManifest(rollback, keyring.active),
          new Date().toISOString(),
        );
      }
      count++;
    }
    return count;
  }

  return handlers({
    revokeDevice: async ({ params }, c) => {
      const revokedAt = new Date().toISOString();
      if (!(await store.security.revoke(params.id, actorOf(c), revokedAt))) {
        throw new NotFoundError(`device '${params.id}' not found`);
      }
      deps.devices.forget(params.id);
      // On a managed external broker the device's broker user goes too, which disconnects it.
      await deps.brokerIdentities?.removeDevice(params.id);
      const connectionsClosed = deps.disconnectDevice?.(params.id) ?? 0;
      log.warn({ deviceId: params.id, by: actorOf(c), connectionsClosed }, 'device revoked');
      return { status: 200, body: { deviceId: params.id, revokedAt, connectionsClosed } };
    },
    rotateDeviceSecret: async ({ body }, c) => {
      const deviceId = deviceIdOf(c);
      const hash = hashDeviceSecret(body.secret);
      if (!(await store.security.replaceSecretHash(deviceId, hash))) throw new UnauthorizedError();
      deps.devices.forget(deviceId);
      await deps.brokerIdentities?.provisionDevice(deviceId, body.secret);
      log.info({ deviceId }, 'device secret rotated');
      return { status: 200, body: { rotatedAt: new Date().toISOString() } };
    },
    listSigningKeys: () => ({ status: 200, body: keyring.list() }),
    rotateSigningKey: async () => {
      const keys = await keyring.rotate();
      log.warn({ active: keyring.active.keyId }, 'signing key rotated');
      // Signed by both keys: devices that trust only the old one learn the new one from it.
      await deps.desired.republishAll();
      return { status: 200, body: keys };
    },
    retireSigningKey: async ({ params }) => {
      const keys = await keyring.retire(params.keyId);
      const resigned = await resignManifests();
      log.warn({ retired: params.keyId, resigned }, 'signing key retired');
      await deps.desired.republishAll();
      return { status: 200, body: keys };
    },
  });
}
