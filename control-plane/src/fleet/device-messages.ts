/**
 * Follows every device's state, status, predictions and events over MQTT and records them. Each
 * payload is validated with its shared schema; a malformed one is logged with the device id and
 * dropped, so a misbehaving device can neither crash the control plane nor change what it stores.
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
  type ReportedState,
  ReportedStateSchema,
  redactText,
  SHARED_DEVICE_KINDS,
  topics,
} from '@edgeloop/shared';
import type { DeviceQuotas } from '../limits/device-quotas.ts';
import type { MqttConnection } from '../mqtt/mqtt-client.ts';
import type { Store } from '../store/store.ts';

type Kind = (typeof DEVICE_PUBLISH_KINDS)[number];
type Recorder = (store: Store, deviceId: string, payload: Buffer, receivedAt: string) => Promise<void> | void;

/** Called with every valid ReportedState after it was recorded (the rollout engine follows these). */
export type ReportedStateListener = (
  deviceId: string,
  state: ReportedState,
  receivedAt: string,
) => Promise<void> | void;

/** Called with every valid live frame; nothing is stored in the database for these. */
export type LiveFrameListener = (deviceId: string, frame: LiveFrame, receivedAt: string) => void;

/** A reported state with its free-text detail redacted (it may quote a camera URL). */
function reportedState(payload: Buffer): ReportedState {
  const state = parseJsonWith(ReportedStateSchema, payload, 'reported state');
  return state.detail === undefined ? state : { ...state, detail: redactText(state.detail) };
}

function recorders(onState?: ReportedStateListener, onFrame?: LiveFrameListener): Record<Kind, Recorder> {
  return {
    ...RECORDERS,
    frame: (_store, id, payload, at) =>
      onFrame?.(id, parseJsonWith(LiveFrameSchema, payload, 'live frame'), at),
    state: async (store, id, payload, at) => {
      const state = reportedState(payload);
      await store.devices.recordReportedState(id, state, at);
      await onState?.(id, state, at);
    },
  };
}

const RECORDERS: Record<Exclude<Kind, 'frame'>, Recorder> = {
  state: async (store, id, payload, at) =>
    await store.devices.recordReportedState(id, reportedState(payload), at),
  status: async (store, id, payload, at) =>
    await store.devices.recordStatus(id, parseJsonWith(DeviceStatusSchema, payload, 'device status'), at),
  predictions: async (store, id, payload, at) =>
    await store.devices.recordPrediction(id, parseJsonWith(PredictionSchema, payload, 'prediction'), at),
  events: async (store, id, payload, at) => {
    const event = parseJsonWith(DeviceEventSchema, payload, 'device event');
    // Agents redact their own messages; an older or foreign one may not: never store a password.
    await store.events.record(id, { ...event, message: redactText(event.message) }, at);
  },
};

export function followDeviceMessages(deps: {
  connection: MqttConnection;
  store: Store;
  logger: Logger;
  onReportedState?: ReportedStateListener;
  onLiveFrame?: LiveFrameListener;
  /** Messages over a device's quota are dropped (counted there) before they are parsed. */
  quotas?: DeviceQuotas;
  /** Replicas: split state, predictions and events in this shared-subscription group. */
  sharedGroup?: string;
}): void {
  const { connection, store } = deps;
  const log = deps.logger;
  const record = recorders(deps.onReportedState, deps.onLiveFrame);

  // Each device's messages are recorded one after another, in the order they came (the store is
  // async: without this a status could overtake the state sent before it).
  const queues = new Map<string, Promise<void>>();
  const inOrder = (deviceId: string, work: () => Promise<void>) => {
    const next = (queues.get(deviceId) ?? Promise.resolve()).then(work);
    queues.set(deviceId, next);
    void next.finally(() => {
      if (queues.get(deviceId) === next) queues.delete(deviceId);
    });
  };

  // The message loop boundary: errors are logged here with context and never rethrown.
  connection.onMessage((topic, payload) => {
    const parsed = parseDeviceTopic(topic);
    if (!parsed || !(parsed.kind in record)) {
      log.debug({ topic }, 'ignored message outside the device tree');
      return;
    }
    const { deviceId } = parsed;
    const kind = parsed.kind as Kind;
    // A zero-length retained message only clears the retained copy (MQTT 3.1.1 §3.3.1.3).
    if (payload.length === 0) return;
    const receivedAt = new Date().toISOString();
    inOrder(deviceId, async () => {
      try {
        if (!(await store.devices.exists(deviceId))) {
          log.warn({ deviceId, kind }, 'dropped message from unknown device');
          return;
        }
        if (deps.quotas && !(await deps.quotas.message(deviceId, kind))) return;
      } catch (err) {
        log.error({ deviceId, kind, err }, 'device quota check failed');
        return;
      }
      await recordOne(deviceId, kind, payload, receivedAt);
    });
  });

  async function recordOne(deviceId: string, kind: Kind, payload: Buffer, receivedAt: string): Promise<void> {
    try {
      await record[kind](store, deviceId, payload, receivedAt);
    } catch (err) {
      if (err instanceof EdgeloopError && err.code === 'VALIDATION_FAILED') {
        log.warn({ deviceId, kind, reason: err.message }, 'dropped malformed payload');
      } else {
        log.error({ deviceId, kind, err }, 'failed to record device message');
      }
    }
  }

  // Clean sessions: subscribe again on every connect (retained state and status arrive right away).
  connection.onConnect(() =>
    connection.subscribe(
      DEVICE_PUBLISH_KINDS.map((kind) =>
        deps.sharedGroup && SHARED_DEVICE_KINDS.has(kind)
          ? topics.shared(deps.sharedGroup, topics.allDevices(kind))
          : topics.allDevices(kind),
      ),
      1,
    ),
  );
}
