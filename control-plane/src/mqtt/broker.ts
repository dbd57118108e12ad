/**
 * The embedded MQTT broker: the only importer of aedes. Policy lives in aedes' hooks:
 *
 * - authenticate: a device connects with username = its id and password = its secret; the client
 *   id must be shared deviceClientId(id), so one device cannot take over another's session (a
 *   new connection with an existing client id disconnects the old one, MQTT 3.1.1 §3.1.4-2). The
 *   control plane itself connects as the service identity `control-plane` with a password made up
 *   at start and never stored.
 * - authorizePublish / authorizeSubscribe: the device topic ACL from shared (deviceMayPublish,
 *   deviceMaySubscribe); the service may use any topic outside `$SYS/`.
 * - a device's will is checked at connect against the same ACL, so a device cannot leave a will
 *   that lands on another device's topics.
 * - limits (docs/security.md): packets over quotas.mqttMaxPacketBytes close the connection before
 *   they are buffered (packet-size-guard.ts); CONNECT credentials pass the rate limits of the
 *   device authenticator (refused with CONNACK 3, server unavailable, §3.2.2.3); a device keeps at
 *   most quotas.retainedTopicsPerDevice retained Home Assistant topics, later ones are passed on
 *   without being retained.
 * - under TLS (MQTTS) a device may instead prove who it is with the client certificate the
 *   control plane's CA issued it (mTLS): username = its id, no password, certificate CN = its id.
 * - disconnect(deviceId) closes a device's live connections (revocation).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions, type Server as TlsServer } from 'node:tls';
import {
  DEVICE_ID_PATTERN,
  deviceClientId,
  deviceMayPublish,
  deviceMaySubscribe,
  EdgeloopError,
  type Logger,
  RateLimitedError,
} from '@edgeloop/shared';
import { Aedes, type AuthenticateError, type Client, type ConnectPacket } from 'aedes';
import type { DeviceAuthenticator } from '../auth/device-authenticator.ts';
import { safeEqual } from '../auth/secrets.ts';
import { peerDevice } from '../tls/peer-certificate.ts';
import { guardPacketSize } from './packet-size-guard.ts';
import { indexRetained, type RetainedPersistence } from './retained-index.ts';
import { SERVICE_USERNAME } from './service-identity.ts';

const SYS_PREFIX = '$SYS/';

/** CONNACK return codes, MQTT 3.1.1 §3.2.2.3 (aedes declares them as an ambient const enum). */
const CONNACK = {
  IDENTIFIER_REJECTED: 2,
  SERVER_UNAVAILABLE: 3,
  BAD_USERNAME_OR_PASSWORD: 4,
  NOT_AUTHORIZED: 5,
} as const;

/** Why the broker refused something, for the Prometheus counters. */
export type BrokerRefusal = 'rate-limited' | 'bad-credentials' | 'oversize-packet' | 'retained-quota';

type Identity = { kind: 'service' } | { kind: 'device'; deviceId: string };

export interface BrokerOptions {
  host: string;
  port: number;
  devices: DeviceAuthenticator;
  logger: Logger;
  /** Largest Remaining Length accepted (bytes); default 256 KiB. */
  maxPacketBytes?: number;
  /** Retained Home Assistant topics one device may hold; default 64. */
  retainedTopicsPerDevice?: number;
  onRefused?: (reason: BrokerRefusal) => void;
  /** Listen with TLS (mqtts://) instead of plaintext. */
  tls?: TlsOptions;
}

export interface Broker {
  /** mqtt://host:port (mqtts:// under TLS) with the port actually bound. */
  url: string;
  port: number;
  /** The TLS server (for certificate reloads); null over plaintext. */
  secure: TlsServer | null;
  /** Closes every live connection of this device (it was revoked). */
  disconnect(deviceId: string): number;
  /** Credentials of the control plane's own client. */
  service: { username: string; password: string };
  close(): Promise<void>;
}

function refuse(returnCode: number, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

export async function startBroker(options: BrokerOptions): Promise<Broker> {
  const log = options.logger;
  const servicePassword = randomBytes(24).toString('base64url');
  const identities = new WeakMap<Client, Identity>();
  const wills = new WeakMap<Client, ConnectPacket['will']>();
  const sockets = new WeakMap<object, Socket>();
  const retained = new Map<string, Set<string>>();
  const retainedMax = options.retainedTopicsPerDevice ?? 64;
  const refused = (reason: BrokerRefusal) => options.onRefused?.(reason);

  /** False when a retained topic would be one more than the device may keep. */
  function mayRetain(deviceId: string, topic: string): boolean {
    const topicsOf = retained.get(deviceId) ?? new Set<string>();
    if (topicsOf.has(topic)) return true;
    if (topicsOf.size >= retainedMax) return false;
    topicsOf.add(topic);
    retained.set(deviceId, topicsOf);
    return true;
  }
  // Live device connections, so a revocation can close them.
  const live = new Map<string, Set<Client>>();

  async function identify(client: Client, username?: string, password?: Buffer): Promise<Identity> {
    const certified = peerDevice(sockets.get(client.conn) ?? client.conn);
    if (certified && username === certified.deviceId && password === undefined) {
      if (!(await options.devices.verifyCertificate(certified.deviceId, certified.fingerprint))) {
        throw refuse(CONNACK.NOT_AUTHORIZED, 'certificate not accepted');
      }
      return checkDevice(client, certified.deviceId);
    }
    if (username === undefined || password === undefined) {
      throw refuse(CONNACK.BAD_USERNAME_OR_PASSWORD, 'username and password required');
    }
    const secret = password.toString('utf8');
    if (username === SERVICE_USERNAME) {
      if (!safeEqual(secret, servicePassword))
        throw refuse(CONNACK.BAD_USERNAME_OR_PASSWORD, 'bad credentials');
      return { kind: 'service' };
    }
    let ok = false;
    try {
      const address = sockets.get(client.conn)?.remoteAddress ?? 'unknown';
      ok = DEVICE_ID_PATTERN.test(username) && (await options.devices.verify(username, secret, address));
    } catch (err) {
      if (!(err instanceof RateLimitedError)) throw err;
      refused('rate-limited');
      throw refuse(CONNACK.SERVER_UNAVAILABLE, err.message);
    }
    if (!ok) {
      refused('bad-credentials');
      throw refuse(CONNACK.BAD_USERNAME_OR_PASSWORD, 'bad credentials');
    }
    return checkDevice(client, username);
  }

  function checkDevice(client: Client, username: string): Identity {
    if (client.id !== deviceClientId(username)) {
      throw refuse(CONNACK.IDENTIFIER_REJECTED, `client id must be '${deviceClientId(username)}'`);
    }
    const will = wills.get(client);
    if (will && !deviceMayPublish(username, will.topic)) {
      throw refuse(CONNACK.NOT_AUTHORIZED, `will topic '${will.topic}' is not allowed`);
    }
    return { kind: 'device', deviceId: username };
  }

  const broker = await Aedes.createBroker({
    // Runs before authenticate with the raw CONNECT packet: remember the will (MQTT 3.1.1 §3.1.2.5)
    // so authenticate can check its topic and refuse with a CONNACK instead of a silent close.
    preConnect(client, packet, done) {
      if (packet.will) wills.set(client, packet.will);
      done(null, true);
    },

    authenticate(client, username, password, done) {
      identify(client, username, password).then(
        (identity) => {
          identities.set(client, identity);
          if (identity.kind === 'device') {
            const open = live.get(identity.deviceId) ?? new Set<Client>();
            open.add(client);
            live.set(identity.deviceId, open);
          }
          log.debug({ clientId: client.id, identity }, 'mqtt client authenticated');
          done(null, true);
        },
        (err: AuthenticateError) => {
          log.info({ clientId: client.id, username, reason: err.message }, 'mqtt connection refused');
          done(err, false);
        },
      );
    },

    authorizePublish(client, packet, done) {
      // Replacing the hook drops aedes' default guard: clients never publish to $SYS/ (§4.7.2).
      if (packet.topic.startsWith(SYS_PREFIX)) return done(new Error('$SYS/ topics are reserved'));
      // client is null for wills the broker publishes after their client has gone; those were
      // checked at connect.
      const identity = client ? identities.get(client) : { kind: 'service' as const };
      if (identity?.kind === 'service') return done(null);
      if (identity?.kind === 'device' && deviceMayPublish(identity.deviceId, packet.topic)) {
        // Device topics are fixed; object ids under Home Assistant's prefix are the device's choice.
        const clearing = packet.payload.length === 0;
        if (packet.retain && clearing) retained.get(identity.deviceId)?.delete(packet.topic);
        if (packet.retain && !clearing && !mayRetain(identity.deviceId, packet.topic)) {
          refused('retained-quota');
          log.warn({ clientId: client?.id, topic: packet.topic }, 'retained topic over quota: not retained');
          packet.retain = false;
        }
        return done(null);
      }
      log.warn({ clientId: client?.id, topic: packet.topic }, 'mqtt publish refused');
      // MQTT 3.1.1 has no negative PUBACK; aedes closes the connection (§4.8 allows it).
      done(new Error(`publish to '${packet.topic}' not allowed`));
    },

    authorizeSubscribe(client, subscription, done) {
      const identity = identities.get(client);
      if (identity?.kind === 'service') return done(null, subscription);
      if (identity?.kind === 'device' && deviceMaySubscribe(identity.deviceId, subscription.topic)) {
        return done(null, subscription);
      }
      log.warn({ clientId: client.id, topic: subscription.topic }, 'mqtt subscribe refused');
      // null → SUBACK return code 0x80 (failure) for this filter, MQTT 3.1.1 §3.9.3.
      done(null, null);
    },
  });

  // aedes sets `persistence` on the instance (its default memory one) but does not declare it.
  indexRetained((broker as unknown as { persistence: RetainedPersistence }).persistence);

  broker.on('clientDisconnect', (client) => {
    const identity = identities.get(client);
    if (identity?.kind !== 'device') return;
    const open = live.get(identity.deviceId);
    open?.delete(client);
    if (open?.size === 0) live.delete(identity.deviceId);
  });
  broker.on('clientError', (client, err) => log.debug({ clientId: client.id, err }, 'mqtt client error'));
  broker.on('connectionError', (client, err) =>
    log.debug({ clientId: client.id, err }, 'mqtt connection error'),
  );

  const maxPacketBytes = options.maxPacketBytes ?? 256 * 1024;
  // The size guard sits between the socket and aedes; the socket itself (its address, its client
  // certificate under TLS) is looked up from the guarded stream aedes knows.
  const accept = (socket: Socket) => {
    const conn = guardPacketSize(socket, maxPacketBytes, (claimed) => {
      refused('oversize-packet');
      log.warn({ address: socket.remoteAddress, claimed, maxPacketBytes }, 'mqtt packet too large: closed');
    });
    sockets.set(conn, socket);
    broker.handle(conn);
  };
  const server: Server = options.tls
    ? createTlsServer({ ...options.tls, noDelay: true }, accept)
    : createServer({ noDelay: true }, accept);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    // aedes' own timers would keep a control plane that failed to start alive (EADDRINUSE).
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    throw new EdgeloopError(
      'INTERNAL',
      `MQTT broker cannot listen on ${options.host}:${options.port}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const url = `${options.tls ? 'mqtts' : 'mqtt'}://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  log.info({ url }, 'mqtt broker listening');

  return {
    url,
    port,
    service: { username: SERVICE_USERNAME, password: servicePassword },
    secure: options.tls ? (server as TlsServer) : null,
    disconnect(deviceId) {
      const open = [...(live.get(deviceId) ?? [])];
      for (const client of open) client.close();
      live.delete(deviceId);
      if (open.length > 0) log.info({ deviceId, connections: open.length }, 'mqtt connections closed');
      return open.length;
    },
    async close() {
      // Stop accepting first, then let aedes close every client; server.close resolves once the
      // last socket is gone.
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await serverClosed;
    },
  };
}
