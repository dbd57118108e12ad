/**
 * The control plane's MQTT client: the only importer of `mqtt` in control-plane. A thin adapter,
 * so fleet logic talks to any broker — the embedded one or an external one — the same way.
 *
 * It never makes start-up wait for the broker: connecting goes on in the background (also after a
 * refused CONNACK, e.g. while an operator is still creating the service identity), and whatever
 * must happen on a fresh session (subscriptions, republishing retained desired state) is an
 * onConnect handler, run after every connect.
 *
 * Flow control: a message handler may return a promise, and the PUBACK of that message and the
 * reading of the next packet wait for it (mqtt.js 5 calls `handleMessage` after emitting
 * 'message' and sends the PUBACK, then reads on, only once its callback runs). The broker then
 * holds what comes next. Nothing is read meanwhile, the PUBACKs of our own publishes included,
 * so what a handler waits for must never wait for an MQTT acknowledgement.
 */
import { randomBytes } from 'node:crypto';
import { EdgeloopError, type Logger } from '@edgeloop/shared';
import { connect, type MqttClient } from 'mqtt';

export interface PublishOptions {
  qos: 0 | 1;
  retain: boolean;
  /**
   * Give up waiting for the PUBACK this long after the publish left (its turn in the window of
   * publishes in flight comes first); the client still sends it on reconnect.
   */
  timeoutMs?: number;
}

/** A returned promise holds the PUBACK and the reading of the next message until it settles. */
export type MessageHandler = (topic: string, payload: Buffer, retained: boolean) => Promise<void> | void;

export interface MqttConnection {
  /** True while the session is up (onConnect handlers may still be running). */
  connected(): boolean;
  /** True once connected and every onConnect handler of this session has run. */
  ready(): boolean;
  /**
   * True when the broker resumed the session of the previous connection (CONNACK Session
   * Present, MQTT 3.1.1 §3.2.2.2): it did not lose our state, so neither did it lose its retained
   * messages. False on the first connect, with a clean session, and after a broker restart that
   * kept nothing.
   */
  resumed(): boolean;
  publish(topic: string, payload: string, options: PublishOptions): Promise<void>;
  /** Throws when the broker refuses any of the filters (SUBACK 0x80, MQTT 3.1.1 §3.9.3). */
  subscribe(filters: readonly string[], qos: 0 | 1): Promise<void>;
  /** Ends the subscriptions; what the broker already queued for the session still arrives. */
  unsubscribe(filters: readonly string[]): Promise<void>;
  onMessage(handler: MessageHandler): void;
  /**
   * Runs after every connect, the first included, in the order added (subscriptions are made
   * here: a clean session has none, a persistent one keeps them and a repeat changes nothing).
   * A handler that throws is logged; the others still run.
   */
  onConnect(handler: () => Promise<void> | void): void;
  /** Resolves true once ready, or false when timeoutMs passes first. */
  whenReady(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export interface ConnectOptions {
  url: string;
  username?: string;
  password?: string;
  clientIdPrefix?: string;
  /** The exact client id (instead of the prefix and a random part): a session to come back to. */
  clientId?: string;
  /**
   * Keep the session on the broker while the connection is down (CONNECT without Clean Session,
   * MQTT 3.1.1 §3.1.2.4): what it queued for us meanwhile, and what we had not acknowledged,
   * arrives after the reconnect instead of being thrown away. Needs a fixed `clientId`.
   */
  persistent?: boolean;
  /** Connect again after a lost or refused connection (default); false: one connection only. */
  reconnect?: boolean;
  reconnectPeriodMs?: number;
  logger: Logger;
  /** mqtts: the CA to trust (default: the system's) and whether any server name is accepted. */
  tls?: { ca?: string; anyName?: boolean };
  /** MQTT keep alive (s, MQTT 3.1.1 §3.1.2.10); mqtt.js's default when unset. */
  keepaliveSeconds?: number;
}

/**
 * QoS 1 publishes awaiting their PUBACK at once; the rest wait their turn here. A whole-fleet
 * republish (a new leader, a reconnect: tens of thousands of signed desired states, megabytes)
 * handed to mqtt.js at once queued every packet in the socket, and a per-publish timeout counted
 * from then ran out for most of them while the broker was still working through the queue: they
 * were reported unconfirmed and sent again though the broker took every one. Here a timeout starts
 * when the publish leaves, and no more than this many packets sit in the socket ahead of a ping.
 * The broker side has the same kind of bound (MQTT 5 Receive Maximum; Mosquitto's
 * max_inflight_messages).
 */
const MAX_PUBLISHES_IN_FLIGHT = 100;

/**
 * How long close() lets publishes already sent wait for their PUBACK. mqtt.js's graceful end
 * waits for every one without limit, also when the connection is lost meanwhile (it no longer
 * reconnects then): a stop could hang for good.
 */
const CLOSE_GRACE_MS = 3000;

/**
 * A counting semaphore: take() resolves once fewer than `size` are held, and rejects once the
 * window is closed (a publish still waiting for its turn has not left: nothing to wait for).
 */
function publishWindow(size: number) {
  let held = 0;
  let closed: Error | undefined;
  const waiting: { resolve: () => void; reject: (err: Error) => void }[] = [];
  return {
    async take(): Promise<void> {
      if (closed) throw closed;
      if (held < size) {
        held++;
        return;
      }
      // Handed the slot of the publish that frees it.
      await new Promise<void>((resolve, reject) => waiting.push({ resolve, reject }));
    },
    free(): void {
      const next = waiting.shift();
      if (next) next.resolve();
      else held--;
    },
    close(err: Error): void {
      closed = err;
      for (const w of waiting.splice(0)) w.reject(err);
    },
  };
}

export function connectMqtt(options: ConnectOptions): MqttConnection {
  const log = options.logger;
  if (options.persistent && !options.clientId)
    throw new EdgeloopError('INTERNAL', 'a persistent MQTT session needs a fixed client id');
  const client: MqttClient = connect(options.url, {
    clientId:
      options.clientId ?? `${options.clientIdPrefix ?? 'control-plane'}-${randomBytes(4).toString('hex')}`,
    username: options.username,
    password: options.password,
    protocolVersion: 4,
    clean: !options.persistent,
    reconnectPeriod: options.reconnect === false ? 0 : (options.reconnectPeriodMs ?? 1000),
    // mqtt.js stops for good after a refused CONNACK unless told otherwise.
    reconnectOnConnackError: true,
    connectTimeout: 10_000,
    ...(options.keepaliveSeconds ? { keepalive: options.keepaliveSeconds } : {}),
    // onConnect handlers subscribe on every connect; mqtt.js's own resubscribe would double it.
    resubscribe: false,
    ...(options.tls?.ca ? { ca: options.tls.ca } : {}),
    ...(options.tls?.anyName ? { checkServerIdentity: () => undefined } : {}),
  });
  const window = publishWindow(MAX_PUBLISHES_IN_FLIGHT);
  let closing = false;
  let isReady = false;
  let resumed = false;
  let connects = 0;
  let lastError = '';
  const connectHandlers: (() => Promise<void> | void)[] = [];
  const readyWaiters = new Set<(ready: boolean) => void>();
  const messageHandlers: MessageHandler[] = [];
  /** What the handlers returned for a packet, from its 'message' event to its handleMessage. */
  const pending = new WeakMap<object, Promise<void>[]>();
  /** Settles on close(): a held message is let go then, so a graceful end can read its PUBACKs. */
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });

  /** Rejects once close() gave up on publishes the broker had not acknowledged. */
  let abandon: (err: Error) => void = () => {};
  const abandoned = new Promise<never>((_, reject) => {
    abandon = reject;
  });
  abandoned.catch(() => {});

  /** Resolves when nothing sent awaits a PUBACK, the connection closes, or `ms` pass. */
  function outgoingSettled(ms: number): Promise<void> {
    if (Object.keys(client.outgoing).length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        client.off('outgoingEmpty', done);
        client.off('close', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      client.on('outgoingEmpty', done);
      client.on('close', done);
    });
  }

  client.on('message', (topic, payload, packet) => {
    const waits: Promise<void>[] = [];
    for (const handler of messageHandlers) {
      try {
        const result = handler(topic, payload, packet.retain);
        if (result) waits.push(result);
      } catch (err) {
        log.error({ topic, err }, 'mqtt message handler failed');
      }
    }
    if (waits.length > 0) pending.set(packet, waits);
  });

  /**
   * While a message is held nothing is read, PINGRESP included, and no PUBACK goes out: ping the
   * broker so it keeps the session (it closes one silent for 1.5 keep alives, §3.1.2.10), and
   * restart mqtt.js's keep-alive clock so it does not give up on a session that is only paused.
   * A clean session lost here would lose the backlog the broker holds for us. Nothing of that
   * for the usual wait of a tick, so mqtt.js's own pings go on while messages flow.
   */
  async function hold(waits: Promise<void>[]): Promise<void> {
    const keepaliveMs = (client.options.keepalive ?? 0) * 1000;
    let timer: NodeJS.Timeout | undefined;
    const keepAlive = () => {
      if (client.connected) {
        client.sendPing();
        client.reschedulePing(true);
      }
      timer = setTimeout(keepAlive, keepaliveMs / 2);
    };
    // Before mqtt.js's next check (every half keep alive) could count a second one unanswered.
    if (keepaliveMs > 0) timer = setTimeout(keepAlive, keepaliveMs / 4);
    try {
      await Promise.race([Promise.all(waits), released]);
    } catch (err) {
      log.error({ err }, 'mqtt message handler failed');
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The broker writes its PINGRESP behind the messages already on their way to us. While we
   * apply backpressure each message is held for a moment (each shorter than hold()'s own pings
   * need), we read slower than the broker sends, and the PINGRESP comes late: mqtt.js, counting
   * 1.5 keep alives from its ping, dropped connections that were delivering all along (replicas
   * of the 10,000-device benchmark, every few minutes). Any packet read proves the broker is
   * there: only a connection that delivered nothing for a whole keep alive is given up. We ping
   * again instead, so the broker hears from us at least once a keep alive.
   */
  let lastPacketAt = Date.now();
  client.on('packetreceive', () => {
    lastPacketAt = Date.now();
  });
  const giveUp = client.onKeepaliveTimeout.bind(client);
  client.onKeepaliveTimeout = () => {
    if (Date.now() - lastPacketAt < client.keepalive * 1000) {
      client.sendPing();
      client.reschedulePing(true);
      return;
    }
    giveUp();
  };

  // mqtt.js's hook between 'message' and the PUBACK (a no-op by default).
  client.handleMessage = (packet, callback) => {
    const waits = pending.get(packet);
    if (!waits) {
      callback();
      return;
    }
    pending.delete(packet);
    void hold(waits).then(() => callback());
  };

  async function runConnectHandlers(session: number): Promise<void> {
    for (const handler of connectHandlers) {
      if (session !== connects || closing) return;
      try {
        await handler();
      } catch (err) {
        log.error({ err }, 'mqtt on-connect step failed');
      }
    }
    if (session !== connects || closing || !client.connected) return;
    isReady = true;
    for (const wake of readyWaiters) wake(true);
    readyWaiters.clear();
  }

  client.on('connect', (connack) => {
    if (closing) return;
    resumed = connects > 0 && connack.sessionPresent === true;
    connects += 1;
    lastError = '';
    log.info({ url: options.url }, connects === 1 ? 'mqtt connected' : 'mqtt reconnected');
    void runConnectHandlers(connects);
  });
  client.on('close', () => {
    if (isReady && !closing) log.warn('mqtt connection lost; reconnecting');
    isReady = false;
  });
  client.on('error', (err) => {
    // A broker that is down repeats the same error every period: log each distinct one once.
    if (err.message !== lastError) log.warn({ err: err.message }, 'mqtt client error; will retry');
    lastError = err.message;
  });

  return {
    connected: () => client.connected,
    ready: () => isReady,
    resumed: () => resumed,

    async publish(topic, payload, { qos, retain, timeoutMs }) {
      // Not queued while down: what must reach devices is republished from the database on connect.
      const notConnected = () => new EdgeloopError('UPSTREAM_FAILED', `mqtt broker not connected (${topic})`);
      if (!client.connected) throw notConnected();
      if (qos === 1) {
        await window.take();
        if (!client.connected) {
          window.free();
          throw notConnected();
        }
      }
      const sent = Promise.race([client.publishAsync(topic, payload, { qos, retain }), abandoned]);
      // The slot is held until the broker answers (or the client gives the packet up), even past
      // our timeout: the packet is still outstanding until then.
      if (qos === 1) void sent.then(window.free, window.free);
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

    async unsubscribe(filters) {
      await client.unsubscribeAsync([...filters]);
    },

    onMessage(handler) {
      messageHandlers.push(handler);
    },

    onConnect(handler) {
      connectHandlers.push(handler);
      // Added after a connect: run it for this session too.
      if (client.connected && connects > 0) {
        Promise.resolve()
          .then(handler)
          .catch((err) => log.error({ err }, 'mqtt on-connect step failed'));
      }
    },

    whenReady(timeoutMs) {
      if (isReady) return Promise.resolve(true);
      return new Promise((resolve) => {
        const wake = (ready: boolean) => {
          clearTimeout(timer);
          resolve(ready);
        };
        const timer = setTimeout(() => {
          readyWaiters.delete(wake);
          resolve(false);
        }, timeoutMs);
        readyWaiters.add(wake);
      });
    },

    async close() {
      closing = true;
      release();
      window.close(new EdgeloopError('UPSTREAM_FAILED', 'mqtt connection closed'));
      for (const wake of readyWaiters) wake(false);
      readyWaiters.clear();
      // In-flight PUBACKs get a moment to arrive; then the connection ends whatever is left.
      if (client.connected) await outgoingSettled(CLOSE_GRACE_MS);
      const graceful = client.connected && Object.keys(client.outgoing).length === 0;
      await client.endAsync(!graceful);
      // A forced end keeps unacknowledged publishes for a reconnect that will not come: settle them.
      abandon(new EdgeloopError('UPSTREAM_FAILED', 'mqtt connection closed before the broker acknowledged'));
    },
  };
}
