/**
 * Control-plane replicas' MQTT sessions on a real Mosquitto: what the broker queued for a replica
 * while its connection was down arrives after the reconnect, and the session of a replica that is
 * gone (its device messages' share still queued there) is taken over by the leader, drained into
 * the same handling, and deleted, so later messages go to the replicas that are left.
 */
import { join } from 'node:path';
import { topics } from '@edgeloop/shared';
import mqtt from 'mqtt';
import { afterEach, expect, it, vi } from 'vitest';
import { replicaClientId, replicaSessions } from '../../../control-plane/src/cluster/replica-sessions.ts';
import { connectMqtt } from '../../../control-plane/src/mqtt/mqtt-client.ts';
import type { LeaseStore } from '../../../control-plane/src/store/lease-store.ts';
import { openSqliteStore } from '../../../control-plane/src/store/sqlite-store.ts';
import { startCuttableHop } from '../../helpers/cuttable-hop.ts';
import { startMosquitto } from '../../helpers/mosquitto.ts';
import { LogCapture, tempDir } from '../control-plane/helpers.ts';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const FILTERS = [topics.shared('edgeloop', topics.allDevices('state'))];

async function setUp() {
  const broker = await startMosquitto();
  cleanups.push(() => broker.remove());
  const logs = new LogCapture();
  const device = await mqtt.connectAsync(broker.url, { ...broker.service, reconnectPeriod: 0 });
  cleanups.push(() => device.endAsync(true));
  /** A replica as main.ts connects one: its own client id, a persistent session, the filters. */
  const replica = (replicaId: string, url = broker.url) => {
    const received: string[] = [];
    const connection = connectMqtt({
      url,
      ...broker.service,
      logger: logs.logger,
      clientId: replicaClientId(replicaId),
      persistent: true,
      reconnectPeriodMs: 200,
    });
    cleanups.push(() => connection.close());
    connection.onMessage((_topic, payload) => {
      received.push(payload.toString());
    });
    connection.onConnect(() => connection.subscribe(FILTERS, 1));
    return { connection, received };
  };
  const send = async (from: number, to: number) => {
    for (let i = from; i <= to; i++) {
      await device.publishAsync(topics.state(`cam-${i % 7}`), `m${i}`, { qos: 1 });
    }
  };
  return { broker, logs, replica, send };
}

/** Presence leases and handover for `replicaId`, as main.ts wires them, on the test's broker. */
function sessionsFor(
  broker: { url: string; service: { username: string; password: string } },
  logs: LogCapture,
  leases: LeaseStore,
) {
  return (replicaId: string, handle: (payload: Buffer) => void = () => {}) =>
    replicaSessions({
      leases,
      replicaId,
      leaseMs: 600,
      logger: logs.logger,
      connect: (clientId, persistent) =>
        connectMqtt({
          url: broker.url,
          ...broker.service,
          logger: logs.logger,
          clientId,
          persistent,
          reconnect: false,
        }),
      handle: (_topic, payload) => handle(payload),
      filters: FILTERS,
      quietMs: 300,
    });
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `m${from + i}`);

it('delivers what the broker queued while a replica was cut off, once it is back', async () => {
  const { broker, replica, send } = await setUp();
  const hop = await startCuttableHop(broker.url);
  cleanups.push(() => hop.close());
  const a = replica('a', hop.url);
  expect(await a.connection.whenReady(10_000)).toBe(true);
  expect(a.connection.resumed()).toBe(false);
  await send(1, 10);
  await vi.waitFor(() => expect(a.received).toEqual(range(1, 10)));

  hop.cut();
  await vi.waitFor(() => expect(a.connection.connected()).toBe(false));
  await send(11, 60);
  hop.restore();
  // Every message, once, in the order sent (a clean session would have lost all fifty).
  // Every message (a clean session would have lost all fifty queued meanwhile), in the order sent.
  // QoS 1 is at least once: one whose acknowledgement the cut swallowed comes again.
  const firstSeen = () => [...new Set(a.received)];
  await vi.waitFor(() => expect(firstSeen()).toEqual(range(1, 60)), { timeout: 15_000 });
  // The broker says so in its CONNACK: the control plane need not republish what it retains.
  expect(a.connection.resumed()).toBe(true);
  // Those queued while it was cut off come exactly once.
  expect(a.received.filter((m) => Number(m.slice(1)) > 10)).toEqual(range(11, 60));
});

it('has the leader take over and drain the session of a replica that is gone', async () => {
  const { broker, logs, replica, send } = await setUp();
  const dir = tempDir();
  cleanups.push(() => dir.remove());
  const store = await openSqliteStore(join(dir.path, 'db.sqlite'), logs.logger);
  cleanups.push(() => store.close());
  const sessionsOf = sessionsFor(broker, logs, store.leases);

  // Replica a, reached through a hop that is cut below, as when its process is killed.
  const hop = await startCuttableHop(broker.url);
  cleanups.push(() => hop.close());
  const a = replica('a', hop.url);
  const aSessions = sessionsOf('a');
  await aSessions.start();
  const b = replica('b');
  const bSessions = sessionsOf('b', (payload) => b.received.push(payload.toString()));
  await bSessions.start();
  cleanups.push(() => bSessions.stop());
  expect(await a.connection.whenReady(10_000)).toBe(true);
  expect(await b.connection.whenReady(10_000)).toBe(true);

  hop.cut();
  aSessions.stop();
  await vi.waitFor(() => expect(a.connection.connected()).toBe(false));
  // The broker goes on handing a's session its share: b alone gets only part of these.
  await send(1, 100);
  await vi.waitFor(() => expect(b.received.length).toBeGreaterThan(0));
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(b.received.length).toBeLessThan(100);

  // b leads: once a's presence lease has expired, b drains a's session and deletes it.
  bSessions.handover.start();
  cleanups.push(() => bSessions.handover.stop());
  await vi.waitFor(() => expect([...b.received].sort()).toEqual(range(1, 100).sort()), { timeout: 15_000 });
  const tookOver = (e: { msg?: string }) => e.msg === 'took over the MQTT session of a replica that is gone';
  await vi.waitFor(() => expect(logs.entries.filter(tookOver)).toHaveLength(1), { timeout: 10_000 });
  // The session and its lease are gone with it.
  await vi.waitFor(async () => {
    expect(await store.leases.holder(`mqtt-session/${replicaClientId('a')}`, Date.now())).toBeNull();
    expect(await store.leases.expired('mqtt-session/', Date.now())).toEqual([]);
  });

  // Nothing is handed to a's session any more: all of the next messages reach b.
  await send(101, 150);
  await vi.waitFor(() => expect(b.received.length).toBe(150), { timeout: 10_000 });
  expect([...b.received].sort()).toEqual(range(1, 150).sort());
});

it('leaves the sessions of live replicas alone after the database was away', async () => {
  const { broker, logs, replica } = await setUp();
  const dir = tempDir();
  cleanups.push(() => dir.remove());
  const store = await openSqliteStore(join(dir.path, 'db.sqlite'), logs.logger);
  cleanups.push(() => store.close());
  // The database as both replicas see it: away while `down`, as during a Postgres restart.
  let down = false;
  const unreachable = () => Promise.reject(new Error('the database is unreachable'));
  const leases: typeof store.leases = {
    acquire: (...args) => (down ? unreachable() : store.leases.acquire(...args)),
    release: (...args) => (down ? unreachable() : store.leases.release(...args)),
    holder: (...args) => (down ? unreachable() : store.leases.holder(...args)),
    expired: (...args) => (down ? unreachable() : store.leases.expired(...args)),
  };
  const sessionsOf = sessionsFor(broker, logs, leases);
  const a = replica('a');
  const aSessions = sessionsOf('a');
  await aSessions.start();
  cleanups.push(() => aSessions.stop());
  const bSessions = sessionsOf('b');
  await bSessions.start();
  cleanups.push(() => bSessions.stop());
  expect(await a.connection.whenReady(10_000)).toBe(true);
  const lost = () => logs.entries.filter((e) => e.msg === 'mqtt connection lost; reconnecting').length;

  // Away for three leases: every presence lease lapses, nobody is gone.
  down = true;
  await new Promise((resolve) => setTimeout(resolve, 1_800));
  down = false;
  // b is elected as soon as it is back, before a has renewed.
  bSessions.handover.start();
  cleanups.push(() => bSessions.handover.stop());
  await new Promise((resolve) => setTimeout(resolve, 3_000));

  const gone = logs.entries.filter((e) => e.msg === 'a replica is gone: taking over its MQTT session');
  expect(gone).toEqual([]);
  expect(lost()).toBe(0);
  expect(a.connection.connected()).toBe(true);
  expect(await store.leases.holder(`mqtt-session/${replicaClientId('a')}`, Date.now())).toBe('a');
});
