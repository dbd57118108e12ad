/**
 * Follows every device's state, status, predictions and events over MQTT and hands them to the
 * ingest batcher, which writes them in batches. Each payload is checked against the device's quota
 * and validated with its shared schema as it arrives; a malformed one is logged with the device id
 * and dropped, so a misbehaving device can neither crash the control plane nor change what it
 * stores. Messages from devices that are not enrolled are dropped when their batch is written.
 *
 * Backpressure: the handler returns the batcher's "room" promise, and the MQTT adapter holds the
 * PUBACK and the reading of the next message until it settles. While the database is slow or
 * down the backlog therefore waits in the broker (bounded by its own queue limits), never in an
 * ever larger buffer here, and nothing is dropped for lack of room.
 */
import {
  DEVICE_PUBLISH_KINDS,
  DeviceEventSchema,
  DeviceStatusSchema,
  EdgeloopError,
  type LiveFrame,
  LiveFrameSchema,
  type Logger,
  PredictionSchema,
  parseDeviceTopic,
  parseJsonWith,
  ReportedStateSchema,
  redactText,
  SHARED_DEVICE_KINDS,
  topics,
} from '@edgeloop/shared';
import type { DeviceQuotas } from '../limits/device-quotas.ts';
import type { MessageHandler, MqttConnection } from '../mqtt/mqtt-client.ts';
import type { Store } from '../store/store.ts';
import type { IngestBatcher, IngestMessage } from './ingest-batcher.ts';

type Kind = (typeof DEVICE_PUBLISH_KINDS)[number];

/** What follows device messages, for another session's messages to go the same way. */
export interface DeviceMessageFollower {
  /** The subscriptions every connect makes. */
  readonly filters: readonly string[];
  /** Takes one message as this connection's own are taken. */
  readonly handle: MessageHandler;
}

/** Called with every valid live frame; nothing is stored in the database for these. */
export type LiveFrameListener = (deviceId: string, frame: LiveFrame, receivedAt: string) => void;

/** Validates one stored kind's payload into what the batcher writes (throws VALIDATION_FAILED). */
const PARSERS: Record<
  Exclude<Kind, 'frame'>,
  (deviceId: string, payload: Buffer, at: string) => IngestMessage
> = {
  state: (deviceId, payload, receivedAt) => {
    const state = parseJsonWith(ReportedStateSchema, payload, 'reported state');
    // The free-text detail may quote a camera URL.
    const redacted = state.detail === undefined ? state : { ...state, detail: redactText(state.detail) };
    return { kind: 'state', deviceId, state: redacted, receivedAt };
  },
  status: (deviceId, payload, receivedAt) => ({
    kind: 'status',
    deviceId,
    status: parseJsonWith(DeviceStatusSchema, payload, 'device status'),
    receivedAt,
  }),
  predictions: (deviceId, payload, receivedAt) => ({
    kind: 'prediction',
    deviceId,
    prediction: parseJsonWith(PredictionSchema, payload, 'prediction'),
    receivedAt,
  }),
  events: (deviceId, payload, receivedAt) => {
    const event = parseJsonWith(DeviceEventSchema, payload, 'device event');
    // Agents redact their own messages; an older or foreign one may not: never store a password.
    return { kind: 'event', deviceId, event: { ...event, message: redactText(event.message) }, receivedAt };
  },
};

export function followDeviceMessages(deps: {
  connection: MqttConnection;
  store: Store;
  logger: Logger;
  /** Where valid state, status, predictions and events go to be written in batches. */
  ingest: IngestBatcher;
  onLiveFrame?: LiveFrameListener;
  /** Messages over a device's quota are dropped (counted there) before they are parsed. */
  quotas?: DeviceQuotas;
  /** Replicas: split state, predictions and events in this shared-subscription group. */
  sharedGroup?: string;
}): DeviceMessageFollower {
  const { connection, store, ingest } = deps;
  const log = deps.logger;

  /** Quota, then schema: null when the message is dropped (each reason logged or counted). */
  async function accept(deviceId: string, kind: Kind, payload: Buffer, receivedAt: string) {
    try {
      if (deps.quotas && !(await deps.quotas.message(deviceId, kind))) return null;
      if (kind !== 'frame') return PARSERS[kind](deviceId, payload, receivedAt);
      // Live frames are not stored: shown at once, from enrolled devices only.
      if (!(await store.devices.exists(deviceId))) {
        log.warn({ deviceId, kind }, 'dropped message from unknown device');
        return null;
      }
      deps.onLiveFrame?.(deviceId, parseJsonWith(LiveFrameSchema, payload, 'live frame'), receivedAt);
    } catch (err) {
      if (err instanceof EdgeloopError && err.code === 'VALIDATION_FAILED') {
        log.warn({ deviceId, kind, reason: err.message }, 'dropped malformed payload');
      } else {
        log.error({ deviceId, kind, err }, 'failed to take device message');
      }
    }
    return null;
  }

  // The message loop boundary: errors are logged in accept() and never rethrown.
  const handle: MessageHandler = (topic, payload) => {
    const parsed = parseDeviceTopic(topic);
    if (!parsed || !(DEVICE_PUBLISH_KINDS as readonly string[]).includes(parsed.kind)) {
      log.debug({ topic }, 'ignored message outside the device tree');
      return;
    }
    const { deviceId } = parsed;
    const kind = parsed.kind as Kind;
    // A zero-length retained message only clears the retained copy (MQTT 3.1.1 §3.3.1.3).
    if (payload.length === 0) return;
    const receivedAt = new Date().toISOString();
    // The batcher runs each device's messages in the order they came, then writes them in batches;
    // the next message is read once it has room.
    return ingest.take(deviceId, () => accept(deviceId, kind, payload, receivedAt));
  };
  connection.onMessage(handle);

  const filters = DEVICE_PUBLISH_KINDS.map((kind) =>
    deps.sharedGroup && SHARED_DEVICE_KINDS.has(kind)
      ? topics.shared(deps.sharedGroup, topics.allDevices(kind))
      : topics.allDevices(kind),
  );
  // On every connect: a clean session has no subscriptions (retained state and status arrive
  // right away), a persistent one keeps them and subscribing again changes nothing.
  connection.onConnect(() => connection.subscribe(filters, 1));
  return { filters, handle };
}
