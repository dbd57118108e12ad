/**
 * The control plane's MQTT client against a real Mosquitto while it applies backpressure: each
 * message is held for a moment (the ingest buffer waits for a database write), so it reads slower
 * than the broker sends, and the answer to its ping waits behind the messages already on their way.
 * A connection that delivers all the while must not be given up for that: each drop costs a
 * reconnect, and with a clean session everything the broker held for it.
 */
import { topics } from '@edgeloop/shared';
import mqtt from 'mqtt';
import { afterEach, expect, it, vi } from 'vitest';
import { connectMqtt } from '../../../control-plane/src/mqtt/mqtt-client.ts';
import { startMosquitto } from '../../helpers/mosquitto.ts';
import { LogCapture } from '../control-plane/helpers.ts';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

it('keeps a connection that delivers while each message is held, and loses nothing', async () => {
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
  const received: string[] = [];
  // Held 50 ms each: up to 20 QoS 1 messages in flight put the PINGRESP a second behind.
  connection.onMessage((_topic, payload) => {
    received.push(payload.toString());
    return new Promise((resolve) => setTimeout(resolve, 50));
  });
  connection.onConnect(() => connection.subscribe([topics.allDevices('state')], 1));
  expect(await connection.whenReady(10_000)).toBe(true);

  const device = await mqtt.connectAsync(broker.url, { ...broker.service, reconnectPeriod: 0 });
  cleanups.push(() => device.endAsync(true));
  const SENT = 120;
  await Promise.all(
    Array.from({ length: SENT }, (_, i) => device.publishAsync(topics.state('cam-1'), `m${i}`, { qos: 1 })),
  );

  await vi.waitFor(() => expect(new Set(received).size).toBe(SENT), { timeout: 30_000, interval: 100 });
  expect(logs.entries.filter((e) => /mqtt (reconnected|connection lost)/.test(e.msg ?? ''))).toEqual([]);
}, 60_000);
