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
import { createHash } from 'node:crypto';
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
  type UnsignedDesiredState,
} from '@edgeloop/shared';
import { desiredAgentsOf } from '../agent-versions/desired-agent.ts';
import type { SigningKeyring } from '../auth/signing-keyring.ts';
import { rollbackManifestPathOf } from '../models/manifest-signer.ts';
import type { MqttConnection } from '../mqtt/mqtt-client.ts';
import type { FragmentRecord } from '../store/config-store.ts';
import type { DeviceRecord, Store } from '../store/store.ts';
import { type CameraModels, cameraModelsOf } from './camera-models.ts';
import { retryUnconfirmed } from './unconfirmed-publishes.ts';

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

/** A device's desired state numbered but not signed yet, with the canonical content it was numbered for. */
export interface NumberedDesiredState {
  state: UnsignedDesiredState;
  content: string;
}

/**
 * These devices' desired states, numbered together: one transaction, not one per device (a
 * rollout publishes a wave at once, a new leader the whole fleet).
 */
export async function numberedDesiredStatesOf(
  store: Store,
  keyring: SigningKeyring,
  devices: readonly DeviceRecord[],
  logger: Logger,
  now = new Date(),
): Promise<NumberedDesiredState[]> {
  if (devices.length === 0) return [];
  const fragments = await store.config.listFragments();
  const agents = await desiredAgentsOf(
    store,
    devices.map((d) => d.deviceId),
  );
  const contents = await Promise.all(
    devices.map((device) => unnumberedStateOf(store, keyring, device, logger, fragments, agents)),
  );
  const canonical = contents.map((content) => canonicalJson(content));
  const numbers = await store.security.desiredSequences(
    contents.map((content, i) => ({ deviceId: content.deviceId, content: canonical[i] })),
    now.toISOString(),
  );
  return contents.map((content, i) => ({ state: { ...content, ...numbers[i] }, content: canonical[i] }));
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
  // What the broker confirmed on this connection, per device: a digest of the numbered content
  // and the keys that signed it. A new leader republishes the whole fleet while the broker still
  // retains every message, so one it confirmed already is neither signed nor sent again. A new
  // connection starts empty unless the broker resumed our session: it may have restarted without
  // its retained messages. (This
  // handler is added when the publisher is made, so it runs before main.ts's republish handler:
  // handlers run in the order added.)
  const confirmed = new Map<string, string>();
  let session = 0;
  connection.onConnect(() => {
    if (connection.resumed()) return;
    session++;
    confirmed.clear();
  });

  /** Publishes what the broker does not hold yet; returns how many were sent. */
  async function publishAll(devices: readonly DeviceRecord[]): Promise<number> {
    const numbered = await numberedDesiredStatesOf(store, keyring, devices, log);
    const keys = signers();
    const keyIds = keys.map((k) => k.keyId).join(',');
    const digestOf = ({ state, content }: NumberedDesiredState) =>
      createHash('sha256')
        .update(`${keyIds}\n${state.sequence}\n${state.issuedAt}\n${content}`)
        .digest('base64');
    const due = numbered
      .map((n) => ({ deviceId: n.state.deviceId, n, digest: digestOf(n) }))
      .filter(({ deviceId, digest }) => confirmed.get(deviceId) !== digest);
    const at = session;
    const results = await Promise.allSettled(
      due.map(async ({ deviceId, n, digest }) => {
        const payload = JSON.stringify(signDesiredState(n.state, keys));
        await connection.publish(topics.desired(deviceId), payload, {
          qos: 1,
          retain: true,
          timeoutMs: PUBLISH_TIMEOUT_MS,
        });
        if (at === session) confirmed.set(deviceId, digest);
      }),
    );
    const failed = due.filter((_, i) => results[i].status === 'rejected').map((d) => d.deviceId);
    // Not the caller's failure: the database holds the change (unconfirmed-publishes.ts).
    unconfirmed.settle(
      devices.map((d) => d.deviceId),
      failed,
    );
    return due.length;
  }

  /** The stored state of these devices, published (what the broker did not confirm, again later). */
  async function publishDevices(deviceIds: readonly string[]): Promise<void> {
    await publishAll(await store.devices.getMany(deviceIds));
  }
  const unconfirmed = retryUnconfirmed(connection, publishDevices, log, 'desired state');

  return {
    stateOf: async (device) => {
      const [{ state }] = await numberedDesiredStatesOf(store, keyring, [device], log);
      return signDesiredState(state, signers());
    },
    publish: publishDevices,
    async republishAll() {
      const devices = await store.devices.list();
      // Devices gone since are forgotten (the map stays the size of the fleet).
      const listed = new Set(devices.map((d) => d.deviceId));
      for (const id of confirmed.keys()) if (!listed.has(id)) confirmed.delete(id);
      const sent = await publishAll(devices);
      log.info({ devices: devices.length, sent }, 'republished desired state');
    },
  };
}
