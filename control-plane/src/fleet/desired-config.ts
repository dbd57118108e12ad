/**
 * Desired configuration: the remote agent-config fragment each device should run, merged from its
 * group's, its tags' (in tag order) and its own fragment — the device wins. Like desired model
 * state, the database is the source of truth and MQTT carries a retained copy per device (QoS 1),
 * republished at start and after every reconnect, and whenever a fragment or a device's group or
 * tags change.
 */
import {
  type ConfigFragment,
  type ConfigScope,
  type DesiredConfig,
  DesiredConfigSchema,
  type Logger,
  mergeSettings,
  PROTOCOL_VERSION,
  parseWith,
  settingsRevision,
  topics,
} from '@edgeloop/shared';
import type { MqttConnection } from '../mqtt/mqtt-client.ts';
import type { FragmentRecord } from '../store/config-store.ts';
import type { DeviceRecord, Store } from '../store/store.ts';
import { retryUnconfirmed } from './unconfirmed-publishes.ts';

const PUBLISH_TIMEOUT_MS = 5_000;

export interface EffectiveConfig {
  revision: string | null;
  settings: ConfigFragment;
  /** The fragments merged, least specific first. */
  layers: FragmentRecord[];
}

type DeviceScope = Pick<DeviceRecord, 'deviceId' | 'group' | 'tags'>;

/** The fragments that apply to a device, least specific first: group, tags (sorted), device. */
export function layersOf(device: DeviceScope, fragments: readonly FragmentRecord[]): FragmentRecord[] {
  const find = (scope: ConfigScope, key: string) =>
    fragments.find((f) => f.scope === scope && f.key === key) ?? null;
  return [
    find('group', device.group),
    ...[...device.tags].sort().map((tag) => find('tag', tag)),
    find('device', device.deviceId),
  ].filter((f): f is FragmentRecord => f !== null);
}

export function effectiveConfigOf(
  device: DeviceScope,
  fragments: readonly FragmentRecord[],
): EffectiveConfig {
  const layers = layersOf(device, fragments);
  const settings = layers.reduce<Record<string, unknown>>(
    (merged, layer) => mergeSettings(merged, layer.settings),
    {},
  ) as ConfigFragment;
  return { revision: settingsRevision(settings), settings, layers };
}

/** Whether a fragment takes part in this device's configuration. */
export function fragmentApplies(device: DeviceScope, scope: ConfigScope, key: string): boolean {
  if (scope === 'group') return device.group === key;
  if (scope === 'tag') return device.tags.includes(key);
  return device.deviceId === key;
}

/** The message for the device: the effective fragment with its secrets (the device needs them). */
export function desiredConfigOf(effective: EffectiveConfig, at: string): DesiredConfig {
  return parseWith(
    DesiredConfigSchema,
    { protocol: PROTOCOL_VERSION, revision: effective.revision, settings: effective.settings, updatedAt: at },
    'desired config',
  );
}

export interface DesiredConfigPublisher {
  /** Publishes the effective configuration of these devices; resolves when the broker has them. */
  publish(deviceIds: readonly string[]): Promise<void>;
  /** Devices a fragment applies to (before or after a change): republishes them. */
  publishScope(scope: ConfigScope, key: string): Promise<string[]>;
  republishAll(): Promise<void>;
}

export function createDesiredConfigPublisher(deps: {
  connection: MqttConnection;
  store: Store;
  logger: Logger;
  /**
   * The desired state publisher (desired-state.ts, which imports this file: hence the shape, not
   * the type), republished with the configuration: its `cameraModels` come from the config's cameras.
   */
  desired?: { publish(deviceIds: readonly string[]): Promise<void> };
}): DesiredConfigPublisher {
  const { connection, store } = deps;
  const log = deps.logger;

  /** The stored state of these devices, published (what the broker did not confirm, again later). */
  async function publishDevices(deviceIds: readonly string[]): Promise<void> {
    await publishAll(await store.devices.getMany(deviceIds));
  }
  const unconfirmed = retryUnconfirmed(connection, publishDevices, log, 'desired config');

  async function publishAll(devices: DeviceRecord[]): Promise<void> {
    const fragments = await store.config.listFragments();
    const at = new Date().toISOString();
    const results = await Promise.allSettled(
      devices.map((device) =>
        connection.publish(
          topics.config(device.deviceId),
          JSON.stringify(desiredConfigOf(effectiveConfigOf(device, fragments), at)),
          { qos: 1, retain: true, timeoutMs: PUBLISH_TIMEOUT_MS },
        ),
      ),
    );
    const failed = devices.filter((_, i) => results[i].status === 'rejected').map((d) => d.deviceId);
    // Not the caller's failure: the database holds the change (unconfirmed-publishes.ts).
    unconfirmed.settle(
      devices.map((d) => d.deviceId),
      failed,
    );
    await deps.desired?.publish(devices.map((d) => d.deviceId));
  }

  return {
    publish: publishDevices,
    async publishScope(scope, key) {
      const devices = (await store.devices.list()).filter((d) => fragmentApplies(d, scope, key));
      await publishAll(devices);
      return devices.map((d) => d.deviceId);
    },
    async republishAll() {
      const devices = await store.devices.list();
      await publishAll(devices);
      log.info({ devices: devices.length }, 'republished desired config');
    },
  };
}
