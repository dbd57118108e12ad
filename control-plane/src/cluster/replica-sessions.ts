/**
 * The replicas' MQTT sessions on the external broker: kept across a lost connection, and handed
 * over when a replica is gone, so no device message is lost to either.
 *
 * Each replica connects under a client id of its own (`control-plane-replica-<replicaId>`) without
 * Clean Session: when its connection drops (a network blip, a broker restart with persistence, a
 * keep-alive timeout on a starved machine) the broker keeps queueing its share of the devices'
 * messages, and what it had sent but not had acknowledged, for the reconnect. A clean session lost
 * that backlog, and device state lost there held a rollout up until the devices' next report.
 *
 * A session outlives its replica, and Mosquitto goes on handing a disconnected member of a shared
 * subscription its share of the messages. So each replica holds a presence lease named after its
 * session (`mqtt-session/<clientId>`), renewed like the leader's. When one expires — the replica
 * was killed, or stopped and did not come back under the same id within a lease — the leader
 * takes the session over: it connects under that client id, ends its subscriptions, feeds what
 * the broker queued there to the same ingestion as its own messages until nothing is left, then
 * connects once with Clean Session to delete it. A replica that comes back meanwhile takes its
 * client id back (the broker drops the older connection); the handover then stops and leaves the
 * session to it.
 *
 * An expired lease alone does not prove a replica gone: while the database is away nobody renews
 * anything, so every lease has expired when it returns, and a leader elected then kicked live
 * replicas off the broker (their reconnect cut its drain short, and its next sweep kicked them
 * again). So a new leader looks only once it has led for a whole lease — every replica that can
 * reach the database has renewed by then — and a session whose handover was cut short is left to
 * its owner for another lease before it is tried again.
 */
import type { Logger } from '@edgeloop/shared';
import type { MessageHandler, MqttConnection } from '../mqtt/mqtt-client.ts';
import type { LeaseStore } from '../store/lease-store.ts';
import type { LeaderDuty } from './leadership.ts';

const LEASE_PREFIX = 'mqtt-session/';

/** The client id a replica's session lives under; device client ids all start `edgeloop-`. */
export const replicaClientId = (replicaId: string) => `control-plane-replica-${replicaId}`;

export interface ReplicaSessionsOptions {
  leases: LeaseStore;
  replicaId: string;
  leaseMs: number;
  logger: Logger;
  /** A single connection (no reconnect) under `clientId`, persistent or clean. */
  connect(clientId: string, persistent: boolean): MqttConnection;
  /** Where a taken-over session's messages go: the same ingestion as this replica's own. */
  handle: MessageHandler;
  /** Every filter a replica's session subscribes to. */
  filters: readonly string[];
  /** A taken-over session is drained once no message came for this long. */
  quietMs?: number;
  now?: () => number;
}

export interface ReplicaSessions {
  /** Renews this replica's presence from now on. */
  start(): Promise<void>;
  /** Stops renewing: the session waits for this replica under the same id, or the leader. */
  stop(): void;
  /** The leader's part: take over the sessions of replicas that are gone. */
  readonly handover: LeaderDuty;
}

export function replicaSessions(options: ReplicaSessionsOptions): ReplicaSessions {
  const { leases, replicaId, leaseMs, logger } = options;
  const now = options.now ?? Date.now;
  const quietMs = options.quietMs ?? 2_000;
  const every = Math.max(50, Math.floor(leaseMs / 3));
  const ownLease = LEASE_PREFIX + replicaClientId(replicaId);
  let presence: NodeJS.Timeout | null = null;
  let handingOver = false;
  let sweep: Promise<void> = Promise.resolve();
  let sweepTimer: NodeJS.Timeout | null = null;
  /** Sessions whose handover was cut short (their owner came back, most likely): not before then. */
  const notBefore = new Map<string, number>();

  async function renew(): Promise<void> {
    try {
      if (!(await leases.acquire(ownLease, replicaId, leaseMs, now())))
        logger.warn({ replicaId }, "this replica's MQTT session is being taken over by the leader");
    } catch (err) {
      logger.warn({ err, replicaId }, "could not renew this replica's MQTT session lease");
    }
  }

  /** Feeds the session's queued messages on until none came for quietMs; false if cut short. */
  async function drain(clientId: string): Promise<boolean> {
    const connection = options.connect(clientId, true);
    let last = now();
    let handling = 0;
    let received = 0;
    connection.onMessage((topic, payload, retained) => {
      received++;
      handling++;
      const settle = () => {
        handling--;
        last = now();
      };
      try {
        const held = options.handle(topic, payload, retained);
        if (!held) {
          settle();
          return;
        }
        return held.finally(settle);
      } catch (err) {
        settle();
        throw err;
      }
    });
    try {
      if (!(await connection.whenReady(10_000))) return false;
      // The session's subscriptions end here; what the broker queued for it still comes.
      await connection.unsubscribe(options.filters);
      last = now();
      while (handingOver && connection.connected() && (handling > 0 || now() - last < quietMs)) {
        await new Promise((resolve) => setTimeout(resolve, Math.min(250, quietMs / 4)));
      }
      const drained = handingOver && connection.connected();
      logger.info(
        { clientId, messages: received, drained },
        'took over the MQTT session of a replica that is gone',
      );
      return drained;
    } finally {
      await connection.close();
    }
  }

  /** A clean connect under the id deletes what is left of the session (MQTT 3.1.1 §3.1.2.4). */
  async function remove(clientId: string): Promise<void> {
    const connection = options.connect(clientId, false);
    try {
      if (!(await connection.whenReady(10_000))) throw new Error('the broker did not answer');
    } finally {
      await connection.close();
    }
  }

  async function takeOverGone(): Promise<void> {
    for (const { name, holder } of await leases.expired(LEASE_PREFIX, now())) {
      if (!handingOver) return;
      if (name === ownLease || (notBefore.get(name) ?? 0) > now()) continue;
      // Held by this replica while it drains: no other leader starts on it meanwhile.
      if (!(await leases.acquire(name, replicaId, leaseMs * 4, now()))) continue;
      const clientId = name.slice(LEASE_PREFIX.length);
      let done = false;
      try {
        logger.warn({ clientId, lastHolder: holder }, 'a replica is gone: taking over its MQTT session');
        if (await drain(clientId)) {
          await remove(clientId);
          done = true;
        }
      } catch (err) {
        logger.error({ err, clientId }, 'could not take over the MQTT session of a replica that is gone');
      }
      // Done: the lease goes with the session. Cut short (the replica came back, the broker went
      // away, this replica stopped leading): expired again, for its owner to renew or a later try.
      if (done) {
        notBefore.delete(name);
        await leases.release(name, replicaId);
      } else {
        notBefore.set(name, now() + leaseMs);
        await leases.acquire(name, replicaId, 0, now());
      }
    }
  }

  const handover: LeaderDuty = {
    name: 'mqtt session handover',
    start() {
      handingOver = true;
      notBefore.clear();
      const tick = () => {
        sweep = takeOverGone()
          .catch((err) => logger.error({ err }, 'mqtt session handover failed'))
          .finally(() => {
            if (handingOver) sweepTimer = setTimeout(tick, every);
          });
      };
      // Not at once: a replica's lease may have lapsed only because nobody could renew.
      sweepTimer = setTimeout(tick, leaseMs);
    },
    async stop() {
      handingOver = false;
      if (sweepTimer) clearTimeout(sweepTimer);
      sweepTimer = null;
      await sweep;
    },
  };

  return {
    handover,
    async start() {
      await renew();
      const loop = () => {
        presence = setTimeout(() => {
          renew().finally(() => {
            if (presence) loop();
          });
        }, every);
        presence.unref();
      };
      loop();
    },
    stop() {
      if (presence) clearTimeout(presence);
      presence = null;
    },
  };
}
