/**
 * Desired state: the model version the control plane wants each device to run. The database is the
 * source of truth; MQTT carries a retained copy per device (QoS 1) so a device gets it the moment
 * it subscribes. Retained messages live only in the broker, so every device's desired state is
 * republished on start and after every reconnect.
 *
 * Every copy is signed (shared desired-state-signature.ts) by the signing keys in use, names its
 * device and carries a sequence number that grows only when the content changes (kept in the
 * database), so a republish after a restart is the same message and a replay of an older one is
 * refused by the device.
 */
import {
  apiRoutes,
  canonicalJson,
  type DesiredAgent,
  type DesiredState,
  type DesiredStateSigner,
  desiredStateSigners,
  type Logger,
  PROTOCOL_VERSION,
  routeUrl,
  type SigningKey,
  signDesiredState,
  topics,
} from '@edgeloop/shared';
import { desiredAgentsOf } from '../agent-versions/desired-agent.ts';
import type { SigningKeyring } from '../auth/signing-keyring.ts';
import { rollbackManifestPathOf } from '../models/manifest-signer.ts';
import type { MqttConnection } from '../mqtt/mqtt-client.ts';
import type { FragmentRecord } from '../store/config-store.ts';
import type { DeviceRecord, Store } from '../store/store.ts';
import { type CameraModels, cameraModelsOf } from './camera-models.ts';

const PUBLISH_TIMEOUT_MS = 5_000;

export function manifestPathOf(modelVersion: number): string {
  return routeUrl(apiRoutes.getManifest, { version: modelVersion });
}

/**
 * What a device should run, before it is numbered and signed. `cameraModels`: the cameras that
 * run another model (camera-models.ts).
 */
export function desiredContentOf(
  device: Pick<DeviceRecord, 'desiredVersion' | 'desiredUpdatedAt' | 'enrolledAt'> &
    Partial<Pick<DeviceRecord, 'desiredManifestPath'>>,
  cameraModels?: CameraModels,
) {
  return {
    protocol: PROTOCOL_VERSION,
    modelVersion: device.desiredVersion,
    manifestPath:
      device.desiredVersion === null
        ? null
        : (device.desiredManifestPath ?? manifestPathOf(device.desiredVersion)),
    updatedAt: device.desiredUpdatedAt ?? device.enrolledAt,
    ...(cameraModels ? { cameraModels } : {}),
  };
}

/** What a device's desired state says before it is numbered and signed. */
async function unnumberedStateOf(
  store: Store,
  keyring: SigningKeyring,
  device: DeviceRecord,
  logger: Logger,
  fragments: readonly FragmentRecord[],
  agents: ReadonlyMap<string, DesiredAgent>,
) {
  // A rollback names the order its manifest was signed for; the device checks they match.
  const rollbackOrder =
    device.desiredVersion !== null &&
    device.desiredManifestPath === rollbackManifestPathOf(device.desiredVersion)
      ? (await store.rollouts.getRollbackManifest(device.desiredVersion))?.rollbackOrder
      : undefined;
  return {
    ...desiredContentOf(device, await cameraModelsOf(store, device, logger, fragments)),
    rollbackOrder,
    agent: agents.get(device.deviceId),
    deviceId: device.deviceId,
    trustedKeys: keyring.trusted(),
  };
}

/**
 * These devices' desired states, numbered together (one transaction, not one per device: a
 * rollout publishes a wave at once) and each signed by every signing key in use.
 */
export async function signedDesiredStatesOf(
  store: Store,
  keyring: SigningKeyring,
  devices: readonly DeviceRecord[],
  logger: Logger,
  /** The remote-configuration fragments, read once by a caller that signs many devices. */
  fragmentsRead?: readonly FragmentRecord[],
  now = new Date(),
  /** The signing keys with their private keys parsed (desiredStateSigners), kept by the caller. */
  signers: readonly DesiredStateSigner[] = desiredStateSigners(keyring.signers()),
): Promise<DesiredState[]> {
  if (devices.length === 0) return [];
  const fragments = fragmentsRead ?? (await store.config.listFragments());
  const agents = await desiredAgentsOf(
    store,
    devices.map((d) => d.deviceId),
  );
  const contents = await Promise.all(
    devices.map((device) => unnumberedStateOf(store, keyring, device, logger, fragments, agents)),
  );
  const numbers = await store.security.desiredSequences(
    contents.map((content) => ({ deviceId: content.deviceId, content: canonicalJson(content) })),
    now.toISOString(),
  );
  return contents.map((content, i) => signDesiredState({ ...content, ...numbers[i] }, signers));
}

export interface DesiredStatePublisher {
  /** Publishes the stored desired state of these devices; resolves when the broker has them. */
  publish(deviceIds: readonly string[]): Promise<void>;
  republishAll(): Promise<void>;
  /** The signed desired state of one device (served over HTTP too). */
  stateOf(device: DeviceRecord): Promise<DesiredState>;
}

export function createDesiredStatePublisher(deps: {
  connection: MqttConnection;
  store: Store;
  keyring: SigningKeyring;
  logger: Logger;
}): DesiredStatePublisher {
  const { connection, store, keyring } = deps;
  const log = deps.logger;
  // The keys parsed once, again only after a rotation or retirement changed them.
  let parsed: { keys: SigningKey[]; signers: DesiredStateSigner[] } | null = null;
  const signers = () => {
    const keys = keyring.signers();
    const same =
      parsed?.keys.length === keys.length &&
      keys.every((k, i) => k.privateKeyPem === parsed?.keys[i].privateKeyPem);
    if (!same) parsed = { keys, signers: desiredStateSigners(keys) };
    return parsed!.signers;
  };
  const statesOf = (devices: readonly DeviceRecord[], fragments?: readonly FragmentRecord[]) =>
    signedDesiredStatesOf(store, keyring, devices, log, fragments, new Date(), signers());

  async function publishAll(devices: DeviceRecord[]): Promise<void> {
    if (devices.length === 0) return;
    const states = await statesOf(devices);
    const results = await Promise.allSettled(
      states.map((state) =>
        connection.publish(topics.desired(state.deviceId), JSON.stringify(state), {
          qos: 1,
          retain: true,
          timeoutMs: PUBLISH_TIMEOUT_MS,
        }),
      ),
    );
    const failed = devices.filter((_, i) => results[i].status === 'rejected').map((d) => d.deviceId);
    // The database already holds the change and a reconnect republishes everything, so a slow
    // broker is logged rather than failing the caller.
    if (failed.length > 0) log.warn({ devices: failed }, 'desired state not confirmed by the broker yet');
  }

  return {
    stateOf: async (device) => (await statesOf([device]))[0],
    async publish(deviceIds) {
      const devices = await store.devices.getMany(deviceIds);
      await publishAll(devices);
    },
    async republishAll() {
      const devices = await store.devices.list();
      await publishAll(devices);
      log.info({ devices: devices.length }, 'republished desired state');
    },
  };
}
