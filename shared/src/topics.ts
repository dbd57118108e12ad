/**
 * The MQTT topic tree, built only by these functions (docs/protocol.md lists every topic).
 *
 *   edgeloop/v1/devices/{deviceId}/desired      control plane → device, retained: DesiredState
 *   edgeloop/v1/devices/{deviceId}/config       control plane → device, retained: DesiredConfig
 *   edgeloop/v1/devices/{deviceId}/state        device → control plane, retained: ReportedState
 *   edgeloop/v1/devices/{deviceId}/status       device → control plane, retained + will: DeviceStatus
 *   edgeloop/v1/devices/{deviceId}/predictions  device → control plane: Prediction
 *   edgeloop/v1/devices/{deviceId}/events       device → control plane: DeviceEvent
 *   edgeloop/v1/devices/{deviceId}/frame        device → control plane, QoS 0: LiveFrame
 */
import { ValidationError } from './errors.ts';

export const TOPIC_ROOT = 'edgeloop/v1';

export const DEVICE_PUBLISH_KINDS = ['state', 'status', 'predictions', 'events', 'frame'] as const;
export const DEVICE_SUBSCRIBE_KINDS = ['desired', 'config'] as const;
export type DeviceTopicKind = (typeof DEVICE_PUBLISH_KINDS)[number] | (typeof DEVICE_SUBSCRIBE_KINDS)[number];

/**
 * Device ids are lowercase slugs. They never contain MQTT wildcards (`+`, `#`) or level separators
 * (`/`), so a device id can be embedded in a topic without escaping (MQTT 3.1.1 §4.7.1).
 */
export const DEVICE_ID_PATTERN = /^[a-z0-9][a-z0-9-]{2,62}$/;

export function assertDeviceId(deviceId: string): string {
  if (!DEVICE_ID_PATTERN.test(deviceId)) {
    throw new ValidationError(`invalid device id '${deviceId}': use 3-63 characters a-z, 0-9 and '-'`);
  }
  return deviceId;
}

/**
 * The MQTT client identifier a device connects with. One fixed form per device, so no device can
 * pick an identifier that takes over another device's session (MQTT 3.1.1 §3.1.4-2).
 */
export function deviceClientId(deviceId: string): string {
  return `edgeloop-${assertDeviceId(deviceId)}`;
}

export function deviceTopic(deviceId: string, kind: DeviceTopicKind): string {
  return `${TOPIC_ROOT}/devices/${assertDeviceId(deviceId)}/${kind}`;
}

export const topics = {
  desired: (deviceId: string) => deviceTopic(deviceId, 'desired'),
  /** The device's remote configuration (agent-settings.ts), retained like `desired`. */
  config: (deviceId: string) => deviceTopic(deviceId, 'config'),
  state: (deviceId: string) => deviceTopic(deviceId, 'state'),
  status: (deviceId: string) => deviceTopic(deviceId, 'status'),
  predictions: (deviceId: string) => deviceTopic(deviceId, 'predictions'),
  events: (deviceId: string) => deviceTopic(deviceId, 'events'),
  frame: (deviceId: string) => deviceTopic(deviceId, 'frame'),
  /** Subscription filters the control plane uses to follow every device. */
  allDevices: (kind: (typeof DEVICE_PUBLISH_KINDS)[number]) => `${TOPIC_ROOT}/devices/+/${kind}`,
  /**
   * An MQTT 5 shared subscription (also accepted from 3.1.1 clients by Mosquitto and EMQX): the
   * broker hands each message to one member of `group`, so replicas split the work.
   */
  shared: (group: string, filter: string) => `$share/${group}/${filter}`,
};

/**
 * What replicas split between them (each message recorded once) versus what every replica
 * follows: `status` is retained (a broker does not send retained messages to shared
 * subscriptions) and idempotent, and `frame` feeds each replica's own live view.
 */
export const SHARED_DEVICE_KINDS: ReadonlySet<(typeof DEVICE_PUBLISH_KINDS)[number]> = new Set([
  'state',
  'predictions',
  'events',
]);

export interface ParsedDeviceTopic {
  deviceId: string;
  kind: DeviceTopicKind;
}

const KINDS = new Set<string>([...DEVICE_PUBLISH_KINDS, ...DEVICE_SUBSCRIBE_KINDS]);

/** Parses a concrete topic (no wildcards); returns null for anything outside the device tree. */
export function parseDeviceTopic(topic: string): ParsedDeviceTopic | null {
  const parts = topic.split('/');
  if (parts.length !== 5 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT || parts[2] !== 'devices') return null;
  const [, , , deviceId, kind] = parts;
  if (!DEVICE_ID_PATTERN.test(deviceId) || !KINDS.has(kind)) return null;
  return { deviceId, kind: kind as DeviceTopicKind };
}

/**
 * Topic ACL for a device client. A device may publish only on its own state/status/predictions/
 * events/frame topics and subscribe only to its own desired-state and config topics. Filters with wildcards are
 * refused outright: a device never needs one, and `+`/`#` could reach other devices' topics.
 */
export function deviceMayPublish(deviceId: string, topic: string): boolean {
  const parsed = parseDeviceTopic(topic);
  if (parsed === null) return isOwnHomeAssistantConfig(deviceId, topic);
  return parsed.deviceId === deviceId && (DEVICE_PUBLISH_KINDS as readonly string[]).includes(parsed.kind);
}

// ---------------------------------------------------------------------------------------------
// Home Assistant MQTT discovery (https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery):
// <prefix>/sensor/<node_id>/<object_id>/config, retained. On the embedded broker a device may
// publish only its own config topics under the default prefix; a custom prefix needs a site broker.

export const HA_DISCOVERY_PREFIX = 'homeassistant';
const HA_OBJECT_PATTERN = /^[a-z0-9_]{1,64}$/;

export function homeAssistantConfigTopic(
  deviceId: string,
  objectId: string,
  prefix: string = HA_DISCOVERY_PREFIX,
): string {
  if (!HA_OBJECT_PATTERN.test(objectId))
    throw new ValidationError(`invalid discovery object id '${objectId}'`);
  return `${prefix}/sensor/edgeloop_${assertDeviceId(deviceId)}/${objectId}/config`;
}

function isOwnHomeAssistantConfig(deviceId: string, topic: string): boolean {
  const parts = topic.split('/');
  return (
    parts.length === 5 &&
    parts[0] === HA_DISCOVERY_PREFIX &&
    parts[1] === 'sensor' &&
    parts[2] === `edgeloop_${deviceId}` &&
    HA_OBJECT_PATTERN.test(parts[3]) &&
    parts[4] === 'config'
  );
}

/**
 * A device's ACL as MQTT topic filters, for brokers that enforce it themselves (Mosquitto's
 * dynamic-security roles, docs/guides/external-broker.md): what deviceMayPublish and
 * deviceMaySubscribe allow, written once as data. `+` in the Home Assistant filter stands for one
 * discovery object id (§4.7.1.3).
 */
export function deviceAclTopics(deviceId: string): { publish: string[]; subscribe: string[] } {
  return {
    publish: [
      ...DEVICE_PUBLISH_KINDS.map((kind) => deviceTopic(deviceId, kind)),
      `${HA_DISCOVERY_PREFIX}/sensor/edgeloop_${deviceId}/+/config`,
    ],
    subscribe: DEVICE_SUBSCRIBE_KINDS.map((kind) => deviceTopic(deviceId, kind)),
  };
}

export function deviceMaySubscribe(deviceId: string, filter: string): boolean {
  if (filter.includes('+') || filter.includes('#')) return false;
  const parsed = parseDeviceTopic(filter);
  return (
    parsed !== null &&
    parsed.deviceId === deviceId &&
    (DEVICE_SUBSCRIBE_KINDS as readonly string[]).includes(parsed.kind)
  );
}
