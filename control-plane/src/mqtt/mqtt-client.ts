/**
 * The control plane's MQTT client: the only importer of `mqtt` in control-plane. A thin adapter,
 * so fleet logic talks to any broker — the embedded one or config.mqtt.externalUrl — the same way.
 */
import { randomBytes } from 'node:crypto';
import { EdgeloopError, type Logger } from '@edgeloop/shared';
import { connectAsync, type MqttClient } from 'mqtt';

export interface PublishOptions {
  qos: 0 | 1;
  retain: boolean;
  /** Give up waiting for the PUBACK after this long; the client still sends it on reconnect. */
  timeoutMs?: number;
}

export type MessageHandler = (topic: string, payload: Buffer, retained: boolean) => void;

export interface MqttConnection {
  publish(topic: string, payload: string, options: PublishOptions): Promise<void>;
  /** Throws when the broker refuses any of the filters (SUBACK 0x80, MQTT 3.1.1 §3.9.3). */
  subscribe(filters: readonly string[], qos: 0 | 1): Promise<void>;
  onMessage(handler: MessageHandler): void;
  /** Called after every reconnect (not the first connect); subscriptions are restored already. */
  onReconnect(handler: () => void): void;
  close(): Promise<void>;
}

export interface ConnectOptions {
  url: string;
  username?: string;
  password?: string;
  clientIdPrefix?: string;
  logger: Logger;
  /** mqtts: the CA to trust (default: the system's) and whether any server name is accepted. */
  tls?: { ca?: string; anyName?: boolean };
}

export async function connectMqtt(options: ConnectOptions): Promise<MqttConnection> {
  const log = options.logger;
  const client: MqttClient = await connectAsync(options.url, {
    clientId: `${options.clientIdPrefix ?? 'control-plane'}-${randomBytes(4).toString('hex')}`,
    username: options.username,
    password: options.password,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    ...(options.tls?.ca ? { ca: options.tls.ca } : {}),
    ...(options.tls?.anyName ? { checkServerIdentity: () => undefined } : {}),
  });
  let closing = false;
  const reconnectHandlers: (() => void)[] = [];

  // Listeners attach after connectAsync resolved, so every 'connect' seen here is a reconnect.
  client.on('connect', () => {
    if (closing) return;
    log.info('mqtt reconnected');
    for (const handler of reconnectHandlers) handler();
  });
  client.on('offline', () => {
    if (!closing) log.warn('mqtt connection lost; reconnecting');
  });
  client.on('error', (err) => log.warn({ err }, 'mqtt client error'));

  return {
    async publish(topic, payload, { qos, retain, timeoutMs }) {
      const sent = client.publishAsync(topic, payload, { qos, retain });
      if (timeoutMs === undefined) {
        await sent;
        return;
      }
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new EdgeloopError('UPSTREAM_FAILED', `mqtt publish to ${topic} timed out`)),
          timeoutMs,
        );
      });
      try {
        await Promise.race([sent, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },

    async subscribe(filters, qos) {
      try {
        await client.subscribeAsync([...filters], { qos });
      } catch (err) {
        // mqtt.js rejects when any granted code has the failure bit (0x80) set.
        throw new EdgeloopError('UPSTREAM_FAILED', `broker refused subscription to ${filters.join(', ')}`, {
          cause: err,
        });
      }
    },

    onMessage(handler) {
      client.on('message', (topic, payload, packet) => handler(topic, payload, packet.retain));
    },

    onReconnect(handler) {
      reconnectHandlers.push(handler);
    },

    async close() {
      closing = true;
      await client.endAsync();
    },
  };
}
