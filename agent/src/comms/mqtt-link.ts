/**
 * The agent's MQTT adapter and the one importer of `mqtt` in the agent. It owns the connection
 * (credentials, will, automatic reconnects) and validates every payload in both directions.
 *
 *   - will: DeviceStatus{online:false}, retained (MQTT 3.1.1 §3.1.2.5), so the broker marks a device
 *     that vanished without a DISCONNECT offline;
 *   - on every (re)connect: DeviceStatus{online:true} retained, then subscribe to `desired` (and
 *     `config`, the remote configuration), whose retained messages the broker delivers right away
 *     (§3.3.1.3);
 *   - predictions go out at QoS 0 and are not queued while offline: a stale prediction is worthless;
 *   - reconnects are ours, not mqtt.js's: it gives up for good after a refused CONNACK (a device
 *     whose broker identity was not there yet, or was replaced), and retries at a fixed period.
 *     Here every loss — refused, unreachable, dropped — schedules the next attempt with capped
 *     exponential backoff and jitter, so a fleet does not reconnect in lockstep after an outage.
 */
import {
  type DesiredConfig,
  DesiredConfigSchema,
  type DesiredState,
  DesiredStateSchema,
  type DeviceEvent,
  DeviceEventSchema,
  type DeviceStatus,
  DeviceStatusSchema,
  deviceClientId,
  type LiveFrame,
  LiveFrameSchema,
  type Logger,
  PROTOCOL_VERSION,
  type Prediction,
  PredictionSchema,
  parseJsonWith,
  parseWith,
  type ReportedState,
  ReportedStateSchema,
  topics,
} from '@edgeloop/shared';
import { connect, type MqttClient } from 'mqtt';
import { backoffDelay } from '../util/backoff.ts';

export interface MqttLinkOptions {
  url: string;
  deviceId: string;
  /** Empty for a device that authenticates with its client certificate (tls.cert/key). */
  secret: string;
  /** mqtts: the CA to trust and the device's client certificate. */
  tls?: { ca?: string; cert?: string; key?: string };
  logger: Logger;
  /** First reconnect delay; it doubles per failed attempt up to reconnectMaxMs (both jittered). */
  reconnectPeriodMs?: number;
  reconnectMaxMs?: number;
}

type LinkState = 'connecting' | 'connected' | 'refused' | 'unreachable';

type DesiredListener = (desired: DesiredState) => void;
type ConfigListener = (config: DesiredConfig) => void;
type ConnectListener = () => void;

function status(online: boolean): string {
  const payload: DeviceStatus = { protocol: PROTOCOL_VERSION, online, at: new Date().toISOString() };
  return JSON.stringify(parseWith(DeviceStatusSchema, payload, 'device status'));
}

export class MqttLink {
  private readonly client: MqttClient;
  private readonly desiredListeners = new Set<DesiredListener>();
  private readonly connectListeners = new Set<ConnectListener>();
  private readonly deviceId: string;
  private readonly logger: Logger;
  private state: LinkState = 'connecting';
  private attempts = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private closing = false;
  private desiredWanted = false;
  private readonly configListeners = new Set<ConfigListener>();
  private configWanted = false;

  constructor(options: MqttLinkOptions) {
    this.deviceId = options.deviceId;
    this.logger = options.logger;
    const desiredTopic = topics.desired(this.deviceId);
    this.client = connect(options.url, {
      clientId: deviceClientId(this.deviceId),
      username: this.deviceId,
      password: options.secret || undefined,
      ...(options.tls?.ca ? { ca: options.tls.ca } : {}),
      ...(options.tls?.cert && options.tls.key ? { cert: options.tls.cert, key: options.tls.key } : {}),
      clean: true,
      // 0: mqtt.js never reconnects by itself; the 'close' handler below does (see the header).
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      // We subscribe ourselves on every connect; mqtt.js's own resubscribe would double it.
      resubscribe: false,
      queueQoSZero: false,
      will: {
        topic: topics.status(this.deviceId),
        payload: Buffer.from(status(false)),
        qos: 1,
        retain: true,
      },
    });

    const baseMs = options.reconnectPeriodMs ?? 2_000;
    const maxMs = Math.max(baseMs, options.reconnectMaxMs ?? 60_000);
    this.client.on('connect', () => {
      this.attempts = 0;
      this.setState('connected', { url: options.url });
      // Predictions are small writes: without TCP_NODELAY, Nagle's algorithm holds each one back
      // until the previous is acknowledged (up to the peer's delayed-ACK timer, ~40 ms on Linux).
      (this.client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
      this.client.publish(topics.status(this.deviceId), status(true), { qos: 1, retain: true });
      if (this.desiredWanted) this.subscribeDesiredTopic();
      if (this.configWanted) this.subscribeTopic(topics.config(this.deviceId));
      for (const listener of this.connectListeners) listener();
    });
    const configTopic = topics.config(this.deviceId);
    this.client.on('message', (topic, payload) => {
      if (payload.length === 0) return; // a cleared retained message
      if (topic === configTopic) {
        this.onConfig(payload);
        return;
      }
      if (topic !== desiredTopic) return;
      let desired: DesiredState;
      try {
        desired = parseJsonWith(DesiredStateSchema, payload, 'desired state');
      } catch (err) {
        this.logger.warn({ err, topic }, 'ignoring a malformed desired state');
        return;
      }
      for (const listener of this.desiredListeners) listener(desired);
    });
    this.client.on('error', (err) => {
      // A refused CONNACK carries its return code (MQTT 3.1.1 §3.2.2.3); anything else is the network.
      const refused = typeof (err as { code?: unknown }).code === 'number';
      this.setState(refused ? 'refused' : 'unreachable', { err: err.message });
    });
    this.client.on('close', () => {
      if (this.closing) return;
      if (this.state === 'connected') this.setState('unreachable', { err: 'connection lost' });
      if (this.reconnectTimer) return;
      const delayMs = backoffDelay(this.attempts, { baseMs, maxMs });
      this.attempts += 1;
      this.logger.debug({ delayMs, attempt: this.attempts }, 'mqtt reconnecting');
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = null;
        if (!this.closing && !this.client.connected) this.client.connect();
      }, delayMs);
    });
  }

  /** Logs only changes: a device refused for hours logs once, not once per attempt. */
  private setState(next: LinkState, context: Record<string, unknown>): void {
    if (next === this.state) return;
    this.state = next;
    if (next === 'connected') this.logger.info(context, 'mqtt connected');
    else if (next === 'refused')
      this.logger.warn(context, 'mqtt connection refused by the broker; retrying with backoff');
    else this.logger.warn(context, 'mqtt broker unreachable; retrying with backoff');
  }

  connected(): boolean {
    return this.client.connected;
  }

  /**
   * Delivers every valid desired state to `listener`, starting with the retained one. Subscribes
   * now (when connected) and again after every reconnect, as the session is clean.
   */
  subscribeDesired(listener: DesiredListener): () => void {
    this.desiredListeners.add(listener);
    if (!this.desiredWanted) {
      this.desiredWanted = true;
      if (this.client.connected) this.subscribeDesiredTopic();
    }
    return () => this.desiredListeners.delete(listener);
  }

  /** Like subscribeDesired, for the remote configuration (retained on `config`). */
  subscribeConfig(listener: ConfigListener): () => void {
    this.configListeners.add(listener);
    if (!this.configWanted) {
      this.configWanted = true;
      if (this.client.connected) this.subscribeTopic(topics.config(this.deviceId));
    }
    return () => this.configListeners.delete(listener);
  }

  private onConfig(payload: Buffer): void {
    let config: DesiredConfig;
    try {
      config = parseJsonWith(DesiredConfigSchema, payload, 'desired config');
    } catch (err) {
      this.logger.warn({ err }, 'ignoring a malformed desired config');
      return;
    }
    for (const listener of this.configListeners) listener(config);
  }

  private subscribeDesiredTopic(): void {
    this.subscribeTopic(topics.desired(this.deviceId));
  }

  private subscribeTopic(topic: string): void {
    this.client.subscribe(topic, { qos: 1 }, (err, granted) => {
      // A refused subscription comes back as granted QoS 0x80 (MQTT 3.1.1 §3.9.3).
      if (err || granted?.some((g) => g.qos === 128)) {
        this.logger.error({ err, topic }, 'subscribing was refused');
      }
    });
  }

  onConnect(listener: ConnectListener): () => void {
    this.connectListeners.add(listener);
    return () => this.connectListeners.delete(listener);
  }

  publishState(state: ReportedState): void {
    const payload = JSON.stringify(parseWith(ReportedStateSchema, state, 'reported state'));
    this.client.publish(topics.state(this.deviceId), payload, { qos: 1, retain: true });
  }

  publishPrediction(prediction: Prediction): void {
    if (!this.client.connected) return;
    const payload = JSON.stringify(parseWith(PredictionSchema, prediction, 'prediction'));
    this.client.publish(topics.predictions(this.deviceId), payload, { qos: 0 });
  }

  /** QoS 0, not retained: a newer frame replaces a lost one, and a stale one is worth nothing. */
  publishLiveFrame(frame: LiveFrame): void {
    if (!this.client.connected) return;
    const payload = JSON.stringify(parseWith(LiveFrameSchema, frame, 'live frame'));
    this.client.publish(topics.frame(this.deviceId), payload, { qos: 0 });
  }

  publishEvent(event: DeviceEvent): void {
    const payload = JSON.stringify(parseWith(DeviceEventSchema, event, 'device event'));
    this.client.publish(topics.events(this.deviceId), payload, { qos: 1 });
  }

  /** Retained Home Assistant discovery config (the topic is built and checked by shared). */
  publishDiscovery(topic: string, payload: Record<string, unknown>): void {
    this.client.publish(topic, JSON.stringify(payload), { qos: 1, retain: true });
  }

  /** Publishes online:false (retained) when connected, then disconnects cleanly. */
  async close(timeoutMs = 3_000): Promise<void> {
    this.closing = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    if (this.client.connected) {
      const published = this.client
        .publishAsync(topics.status(this.deviceId), status(false), { qos: 1, retain: true })
        .catch((err) => this.logger.warn({ err }, 'publishing offline status failed'));
      await Promise.race([published, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
      // mqtt.js's graceful end waits without limit for every PUBACK still out, even after the
      // connection is lost (it no longer reconnects then): only graceful when none is.
      await this.client.endAsync(Object.keys(this.client.outgoing).length > 0);
    } else {
      await this.client.endAsync(true);
    }
  }
}
