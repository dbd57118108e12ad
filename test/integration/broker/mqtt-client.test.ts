/**
 * The control plane's MQTT client against a real Mosquitto when the fleet is busy:
 * - while it applies backpressure each message is held for a moment, so it reads slower than the
 *   broker sends and the answer to its ping waits behind the messages already on their way; a
 *   connection that delivers all the while must not be given up for that (each drop costs a
 *   reconnect, and with a clean session everything the broker held for it);
 * - a whole fleet's retained desired state published at once (a new leader, a broker restart) to a
 *   broker that takes seconds to work through it: each publish's timeout counts from when it
 *   left, not from when it was queued behind thousands of others, or most are reported
 *   unconfirmed (and sent again) though the broker takes every one;
 * - a broker that stops answering (a dead route) while publishes are out and more wait for their
 *   turn: closing the connection ends every one of them within moments, so a stop never hangs.
 */
import { topics } from '@edgeloop/shared';
import mqtt from 'mqtt';
import { afterEach, expect, it, vi } from 'vitest';
import { connectMqtt } from '../../../control-plane/src/mqtt/mqtt-client.ts';
import { startCuttableHop } from '../../helpers/cuttable-hop.ts';
import { startMosquitto } from '../../helpers/mosquitto.ts';
import { LogCapture } from '../control-plane/helpers.ts';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Mosquitto and the control plane's connection to it, with a one-second keep alive. */
async function connected() {
  const broker = await startMosquitto();
  cleanups.push(() => broker.remove());
  const logs = new LogCapture();
  const connection = connectMqtt({
    url: broker.url,
    ...broker.service,
    logger: logs.logger,
    keepaliveSeconds: 1,
  });
  cleanups.push(() => connection.close());
  const client = () => mqtt.connectAsync(broker.url, { ...broker.service, reconnectPeriod: 0 });
  const dropped = () => logs.entries.filter((e) => /mqtt (reconnected|connection lost)/.test(e.msg ?? ''));
  return { connection, client, dropped };
}

it('keeps a connection that delivers while each message is held, and loses nothing', async () => {
  const { connection, client, dropped } = await connected();
  const received: string[] = [];
  // Held 50 ms each: up to 20 QoS 1 messages in flight put the PINGRESP a second behind.
  connection.onMessage((_topic, payload) => {
    received.push(payload.toString());
    return new Promise((resolve) => setTimeout(resolve, 50));
  });
  connection.onConnect(() => connection.subscribe([topics.allDevices('state')], 1));
  expect(await connection.whenReady(10_000)).toBe(true);

  const device = await client();
  cleanups.push(() => device.endAsync(true));
  const SENT = 120;
  await Promise.all(
    Array.from({ length: SENT }, (_, i) => device.publishAsync(topics.state('cam-1'), `m${i}`, { qos: 1 })),
  );

  await vi.waitFor(() => expect(new Set(received).size).toBe(SENT), { timeout: 30_000, interval: 100 });
  expect(dropped()).toEqual([]);
}, 60_000);

it('has every message of a fleet-wide republish confirmed by a busy broker, none timed out', async () => {
  const { connection, client, dropped } = await connected();
  // Subscribers that make each publish cost the broker many deliveries.
  for (let i = 0; i < 40; i++) {
    const watcher = await client();
    cleanups.push(() => watcher.endAsync(true));
    await watcher.subscribeAsync('edgeloop/#', { qos: 0 });
  }
  expect(await connection.whenReady(10_000)).toBe(true);
  const payload = 'x'.repeat(1500);
  const results = await Promise.allSettled(
    Array.from({ length: 20_000 }, (_, i) =>
      connection.publish(`edgeloop/v1/devices/cam-${i}/desired`, payload, {
        qos: 1,
        retain: true,
        timeoutMs: 5_000,
      }),
    ),
  );
  expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
  expect(dropped()).toEqual([]);
}, 120_000);

it('closes within moments when the broker stops answering, settling every publish', async () => {
  const broker = await startMosquitto();
  cleanups.push(() => broker.remove());
  const hop = await startCuttableHop(broker.url);
  cleanups.push(() => hop.close());
  const connection = connectMqtt({ url: hop.url, ...broker.service, logger: new LogCapture().logger });
  expect(await connection.whenReady(10_000)).toBe(true);

  hop.stall();
  // More than the window of publishes in flight: some left and are never acknowledged, the rest
  // wait for a turn that never comes.
  const outcomes = Array.from({ length: 150 }, (_, i) =>
    connection.publish(topics.state(`cam-${i}`), 'x', { qos: 1, retain: true }).then(
      () => 'acknowledged',
      (err: Error) => err.message,
    ),
  );
  await new Promise((resolve) => setTimeout(resolve, 200));
  const started = Date.now();
  await connection.close();
  const settled = await Promise.all(outcomes);
  expect(Date.now() - started).toBeLessThan(10_000);
  expect(settled.filter((o) => o === 'acknowledged')).toEqual([]);
  expect(settled.every((o) => /mqtt connection closed/.test(o))).toBe(true);
}, 30_000);
