/**
 * Batched ingestion on its real path: devices publish over real MQTT connections to the embedded
 * aedes broker, the control plane's own client follows them, and the ingest batcher writes them to
 * a real store in batches. Everything sent is stored exactly once and in each device's order, the
 * rollout engine's listener hears every state after it was committed (without the writer waiting
 * for it), stop() writes what is still buffered, a message for a device that is not enrolled is
 * dropped, and while the database is cut off the backlog waits in the broker (the buffer stays at
 * its bound, nothing is dropped) and every message is written once it is back.
 */
import { join } from 'node:path';
import { type IngestConfig, topics } from '@edgeloop/shared';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDeviceAuthenticator } from '../../../control-plane/src/auth/device-authenticator.ts';
import { hashSecret } from '../../../control-plane/src/auth/secrets.ts';
import { followDeviceMessages } from '../../../control-plane/src/fleet/device-messages.ts';
import {
  createIngestBatcher,
  type IngestDropReason,
} from '../../../control-plane/src/fleet/ingest-batcher.ts';
import { startBroker } from '../../../control-plane/src/mqtt/broker.ts';
import { connectMqtt, type MqttConnection } from '../../../control-plane/src/mqtt/mqtt-client.ts';
import { openPostgresStore } from '../../../control-plane/src/store/postgres-store.ts';
import { openSqliteStore } from '../../../control-plane/src/store/sqlite-store.ts';
import type { Store } from '../../../control-plane/src/store/store.ts';
import { startCuttableHop } from '../../helpers/cuttable-hop.ts';
import { postgresSkipped, startPostgres } from '../../helpers/postgres-cluster.ts';
import { connectDevice, LogCapture, tempDir } from './helpers.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const SECRET = 's3cret-value-long-enough';

async function enrollAll(store: Store, ids: readonly string[]): Promise<void> {
  await store.devices.createEnrollmentToken({
    tokenHash: 'h',
    group: 'default',
    usesLeft: ids.length,
    expiresAt: '2999-01-01T00:00:00Z',
  });
  const secretHash = await hashSecret(SECRET);
  for (const deviceId of ids) {
    await store.devices.enroll('h', { deviceId, name: null, hardware: null, secretHash }, new Date());
  }
}

const prediction = (i: number) =>
  JSON.stringify({
    protocol: 1,
    modelVersion: 1,
    frameId: `f${i}`,
    capturedAt: new Date().toISOString(),
    topK: [{ label: 'red', confidence: i / 1000 }],
    latencyMs: 3,
  });
const state = (frames: number) =>
  JSON.stringify({
    protocol: 1,
    modelVersion: 1,
    status: 'running',
    agentVersion: '1.0.0',
    framesProcessed: frames,
    samplesQueued: 0,
    reportedAt: new Date().toISOString(),
  });
const event = (message: string) =>
  JSON.stringify({ protocol: 1, type: 'agent-error', message, at: new Date().toISOString() });

/** The control plane's ingestion, wired as main.ts wires it, on a real broker and store. */
async function startIngestion(
  config: Partial<IngestConfig>,
  options: {
    /** Default: a fresh SQLite file. */
    store?: Store;
    keepaliveSeconds?: number;
    /** Runs after each committed batch's states were recorded in `heard`. */
    afterHeard?: (connection: MqttConnection) => Promise<void>;
  } = {},
) {
  const dir = tempDir();
  const logs = new LogCapture();
  const store = options.store ?? (await openSqliteStore(join(dir.path, 'db.sqlite'), logs.logger));
  const broker = await startBroker({
    host: '127.0.0.1',
    port: 0,
    devices: createDeviceAuthenticator(store),
    logger: logs.logger,
  });
  const heard: { deviceId: string; frames: number; storedFrames: number | undefined }[] = [];
  let listenerCalls = 0;
  let listening = 0;
  let overlapped = false;
  const drops: IngestDropReason[] = [];
  const ingest = createIngestBatcher({
    store,
    config: { flushMs: 50, maxBatch: 64, maxBuffered: 100_000, recentPredictionsPerDevice: 40, ...config },
    logger: logs.logger,
    // What the store holds when the listener hears a state: it must already include that state.
    onReportedStates: async (states) => {
      listenerCalls++;
      if (++listening > 1) overlapped = true;
      try {
        for (const { deviceId, state: s } of states) {
          const storedFrames = (await store.devices.get(deviceId))?.framesProcessed;
          heard.push({ deviceId, frames: s.framesProcessed, storedFrames });
        }
        await options.afterHeard?.(connection);
      } finally {
        listening--;
      }
    },
    onDropped: (reason, count) => drops.push(...new Array<IngestDropReason>(count).fill(reason)),
    retry: { baseMs: 50, maxMs: 200 },
  });
  const connection = connectMqtt({
    url: broker.url,
    ...broker.service,
    logger: logs.logger,
    keepaliveSeconds: options.keepaliveSeconds,
  });
  followDeviceMessages({ connection, store, logger: logs.logger, ingest });
  expect(await connection.whenReady(10_000)).toBe(true);
  const closeAll = async () => {
    await connection.close();
    await ingest.stop();
    await broker.close();
    if (!options.store) await store.close();
  };
  let closed = false;
  cleanups.push(async () => {
    if (!closed) await closeAll();
    dir.remove();
  });
  return {
    store,
    broker,
    ingest,
    heard,
    drops,
    logs,
    listenerCalls: () => listenerCalls,
    /** Whether two listener calls ever ran at once. */
    overlapped: () => overlapped,
    /** Shuts down in main.ts's order: the connection, then the batcher, then broker and store. */
    async stopInOrder() {
      closed = true;
      await connection.close();
      await ingest.stop();
      await broker.close();
    },
    async device(deviceId: string): Promise<MqttClient> {
      const client = await connectDevice(broker.url, { deviceId, secret: SECRET });
      cleanups.push(() => client.endAsync(true));
      return client;
    },
  };
}

describe('batched ingestion', () => {
  it('stores everything several devices send, exactly once and in each device’s order', async () => {
    const devices = ['cam-1', 'cam-2', 'cam-3', 'cam-4'];
    const t = await startIngestion({});
    await enrollAll(t.store, devices);
    const PREDICTIONS = 160;
    const STATES = 20;
    const EVENTS = 10;
    await Promise.all(
      devices.map(async (id) => {
        const client = await t.device(id);
        const sends: Promise<unknown>[] = [];
        for (let i = 1; i <= PREDICTIONS; i++) {
          sends.push(client.publishAsync(topics.predictions(id), prediction(i), { qos: 1 }));
          if (i % (PREDICTIONS / STATES) === 0) {
            sends.push(client.publishAsync(topics.state(id), state(sends.length), { qos: 1 }));
          }
          if (i % (PREDICTIONS / EVENTS) === 0) {
            sends.push(client.publishAsync(topics.events(id), event(`e${i}`), { qos: 1 }));
          }
        }
        await Promise.all(sends);
      }),
    );
    // Published by the service identity (a device cannot publish for another): nobody enrolled it.
    const service = await mqtt.connectAsync(t.broker.url, { ...t.broker.service, reconnectPeriod: 0 });
    cleanups.push(() => service.endAsync(true));
    await service.publishAsync(topics.predictions('ghost'), prediction(1), { qos: 1 });
    await service.publishAsync(topics.events('ghost'), event('boo'), { qos: 1 });

    await vi.waitFor(
      async () => {
        for (const id of devices) expect((await t.store.devices.get(id))?.predictionsTotal).toBe(PREDICTIONS);
        expect(t.drops.filter((d) => d === 'unknown-device')).toHaveLength(2);
        expect(t.heard).toHaveLength(devices.length * STATES);
      },
      { timeout: 20_000, interval: 50 },
    );
    const recent = await t.store.dashboard.telemetry(devices);
    for (const id of devices) {
      const device = await t.store.devices.get(id);
      expect(device?.lastPrediction?.frameId).toBe(`f${PREDICTIONS}`);
      // The newest 40 (the configured window), in the order sent.
      expect(recent.get(id)!.map((p) => Math.round(p.confidence * 1000))).toEqual(
        Array.from({ length: 40 }, (_, i) => PREDICTIONS - 39 + i),
      );
      const events = (await t.store.events.list(id, 100)).map((e) => e.message);
      expect(events).toEqual(
        Array.from({ length: EVENTS }, (_, i) => `e${(EVENTS - i) * (PREDICTIONS / EVENTS)}`),
      );
      // Every state heard once, in the order sent, each after its batch committed.
      const states = t.heard.filter((h) => h.deviceId === id);
      const frames = states.map((h) => h.frames);
      expect(frames).toEqual([...frames].sort((a, b) => a - b));
      expect(new Set(frames).size).toBe(STATES);
      for (const h of states) expect(h.storedFrames).toBeGreaterThanOrEqual(h.frames);
      expect(device?.framesProcessed).toBe(frames.at(-1));
    }
    expect(await t.store.devices.get('ghost')).toBeNull();
    expect(await t.store.events.list('ghost')).toEqual([]);
  });

  it('writes what is still buffered when it stops, before the store closes', async () => {
    // Nothing is written by the timer: only stop() can have written these.
    const t = await startIngestion({ flushMs: 60_000, maxBatch: 10_000 });
    await enrollAll(t.store, ['cam-1']);
    const client = await t.device('cam-1');
    for (let i = 1; i <= 30; i++)
      await client.publishAsync(topics.predictions('cam-1'), prediction(i), { qos: 1 });
    await client.publishAsync(topics.state('cam-1'), state(7), { qos: 1 });
    await vi.waitFor(() => expect(t.ingest.buffered()).toBe(31), { timeout: 10_000, interval: 20 });
    expect((await t.store.devices.get('cam-1'))?.predictionsTotal).toBe(0);
    await t.stopInOrder();
    expect((await t.store.devices.get('cam-1'))?.predictionsTotal).toBe(30);
    expect(t.heard.map((h) => h.frames)).toEqual([7]);
    await t.store.close();
  });

  it('hands committed states to a slow listener in order while the writer goes on without it', async () => {
    // The bound is far below what the device sends, so the reader waits for room again and again.
    // The listener publishes and waits for the PUBACK, which is not read while the reader waits:
    // a writer that waited for the listener would never make room again.
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const t = await startIngestion(
      { flushMs: 10, maxBatch: 4, maxBuffered: 5 },
      {
        afterHeard: async (connection) => {
          await connection.publish(topics.desired('cam-1'), '{}', { qos: 1, retain: false });
          await gate;
        },
      },
    );
    await enrollAll(t.store, ['cam-1']);
    const client = await t.device('cam-1');
    const PREDICTIONS = 60;
    const sends: Promise<unknown>[] = [];
    for (let i = 1; i <= PREDICTIONS; i++) {
      if (i % 10 === 1) sends.push(client.publishAsync(topics.state('cam-1'), state(i), { qos: 1 }));
      sends.push(client.publishAsync(topics.predictions('cam-1'), prediction(i), { qos: 1 }));
    }
    await Promise.all(sends);

    // Everything is written while the listener's first call is still waiting.
    await vi.waitFor(
      async () => {
        const device = await t.store.devices.get('cam-1');
        expect(device?.predictionsTotal).toBe(PREDICTIONS);
        expect(device?.framesProcessed).toBe(51);
      },
      { timeout: 20_000, interval: 50 },
    );
    expect(t.listenerCalls()).toBe(1);

    release();
    await t.ingest.flush();
    // Every state, once, in the order sent, each heard after its batch committed; calls never overlapped.
    expect(t.heard.map((h) => h.frames)).toEqual([1, 11, 21, 31, 41, 51]);
    for (const h of t.heard) expect(h.storedFrames).toBeGreaterThanOrEqual(h.frames);
    expect(t.overlapped()).toBe(false);
    expect(t.drops).toEqual([]);
  });
});

describe.skipIf(postgresSkipped)('batched ingestion while the database is unreachable', () => {
  it('leaves the backlog in the broker, drops nothing, and stores every message once the database is back', async () => {
    const cluster = await startPostgres();
    cleanups.push(() => cluster.stop());
    const hop = await startCuttableHop(cluster.url);
    cleanups.push(() => hop.close());
    const logs = new LogCapture();
    const store = await openPostgresStore({ url: hop.url, poolSize: 2 }, logs.logger);
    cleanups.push(() => store.close());
    await enrollAll(store, ['cam-1']);
    // A one-second keep alive, so the wait below outlasts it many times over.
    const t = await startIngestion(
      { flushMs: 20, maxBatch: 10, maxBuffered: 50, recentPredictionsPerDevice: 200 },
      { store, keepaliveSeconds: 1 },
    );
    // Connected (the broker checks its secret in the store) before the database goes away.
    const client = await t.device('cam-1');

    hop.cut();
    const SENT = 150;
    const sends: Promise<unknown>[] = [];
    for (let i = 1; i <= SENT; i++) {
      sends.push(client.publishAsync(topics.predictions('cam-1'), prediction(i), { qos: 1 }));
    }
    await vi.waitFor(
      () => {
        expect(t.logs.entries.some((e) => e.msg?.includes('keeping them and retrying'))).toBe(true);
        expect(t.ingest.buffered()).toBe(50);
      },
      { timeout: 10_000, interval: 20 },
    );
    // Held past 1.5 keep alives (when an idle session is given up, MQTT 3.1.1 §3.1.2.10): the
    // control plane reads nothing meanwhile, yet keeps its session and with it the broker's backlog.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(t.ingest.buffered()).toBe(50);
    expect(t.drops).toEqual([]);
    expect(t.logs.entries.some((e) => e.msg === 'mqtt reconnected')).toBe(false);

    hop.restore();
    await Promise.all(sends);
    await vi.waitFor(async () => expect((await store.devices.get('cam-1'))?.predictionsTotal).toBe(SENT), {
      timeout: 20_000,
      interval: 50,
    });
    await t.ingest.flush();
    // Each one exactly once, in the order sent.
    const device = await store.devices.get('cam-1');
    expect(device?.predictionsTotal).toBe(SENT);
    expect(device?.lastPrediction?.frameId).toBe(`f${SENT}`);
    const recent = (await store.dashboard.telemetry(['cam-1'])).get('cam-1')!;
    expect(recent.map((p) => Math.round(p.confidence * 1000))).toEqual(
      Array.from({ length: SENT }, (_, i) => i + 1),
    );
    expect(t.drops).toEqual([]);
  }, 60_000);
});
