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
  type DesiredState,
  type Logger,
  PROTOCOL_VERSION,
  routeUrl,
  signDesiredState,
  topics,
} from '@edgeloop/shared';
import { desiredAgentOf } from '../agent-versions/desired-agent.ts';
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

/** The device's desired state, numbered and signed by every signing key in use. */
export async function signedDesiredStateOf(
  store: Store,
  keyring: SigningKeyring,
  device: DeviceRecord,
  logger: Logger,
  /** The remote-configuration fragments, read once by a caller that signs many devices. */
  fragmentsRead?: readonly FragmentRecord[],
  now = new Date(),
): Promise<DesiredState> {
  const fragments = fragmentsRead ?? (await store.config.listFragments());
  // A rollback names the order its manifest was signed for; the device checks they match.
  const rollbackOrder =
    device.desiredVersion !== null &&
    device.desiredManifestPath === rollbackManifestPathOf(device.desiredVersion)
      ? (await store.rollouts.getRollbackManifest(device.desiredVersion))?.rollbackOrder
      : undefined;
  const content = {
    ...desiredContentOf(device, await cameraModelsOf(store, device, logger, fragments)),
    rollbackOrder,
    agent: await desiredAgentOf(store, device.deviceId),
    deviceId: device.deviceId,
    trustedKeys: keyring.trusted(),
  };
  const numbered = await store.security.desiredSequence(
    device.deviceId,
    canonicalJson(content),
    now.toISOString(),
  );
  return signDesiredState({ ...content, ...numbered }, keyring.signers());
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
  const stateOf = (device: DeviceRecord, fragments?: readonly FragmentRecord[]) =>
    signedDesiredStateOf(store, keyring, device, log, fragments);

  async function publishDevice(device: DeviceRecord, fragments: readonly FragmentRecord[]): Promise<void> {
    const payload = JSON.stringify(await stateOf(device, fragments));
    await connection.publish(topics.desired(device.deviceId), payload, {
      qos: 1,
      retain: true,
      timeoutMs: PUBLISH_TIMEOUT_MS,
    });
  }

  async function publishAll(devices: DeviceRecord[]): Promise<void> {
    const fragments = await store.config.listFragments();
    const results = await Promise.allSettled(devices.map((d) => publishDevice(d, fragments)));
    const failed = devices.filter((_, i) => results[i].status === 'rejected').map((d) => d.deviceId);
    // The database already holds the change and a reconnect republishes everything, so a slow
    // broker is logged rather than failing the caller.
    if (failed.length > 0) log.warn({ devices: failed }, 'desired state not confirmed by the broker yet');
  }

  return {
    stateOf,
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
