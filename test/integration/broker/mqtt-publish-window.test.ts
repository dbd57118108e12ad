/**
 * The control plane's MQTT client publishing a whole fleet's retained desired state at once (what
 * a new leader or a reconnect does) to a real Mosquitto that takes several seconds to work through
 * it: each publish's timeout must count from when it left, not from when it was queued behind
 * thousands of others, or most are reported unconfirmed (and are sent again) though the broker
 * takes every one.
 */
import mqtt from 'mqtt';
import { afterEach, expect, it } from 'vitest';
import { connectMqtt } from '../../../control-plane/src/mqtt/mqtt-client.ts';
import { startMosquitto } from '../../helpers/mosquitto.ts';
import { LogCapture } from '../control-plane/helpers.ts';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

it('has every message of a fleet-wide republish confirmed by a busy broker, none timed out', async () => {
  const broker = await startMosquitto();
  cleanups.push(() => broker.remove());
  // Subscribers that make each publish cost the broker many deliveries.
  for (let i = 0; i < 40; i++) {
    const watcher = await mqtt.connectAsync(broker.url, { ...broker.service, reconnectPeriod: 0 });
    cleanups.push(() => watcher.endAsync(true));
    await watcher.subscribeAsync('edgeloop/#', { qos: 0 });
  }
  const logs = new LogCapture();
  const connection = connectMqtt({
    url: broker.url,
    ...broker.service,
    logger: logs.logger,
    keepaliveSeconds: 1,
  });
  cleanups.push(() => connection.close());
  expect(await connection.whenReady(10_000)).toBe(true);
  const payload = 'x'.repeat(1500);
  const N = 20_000;
  const results = await Promise.allSettled(
    Array.from({ length: N }, (_, i) =>
      connection.publish(`edgeloop/v1/devices/cam-${i}/desired`, payload, {
        qos: 1,
        retain: true,
        timeoutMs: 5_000,
      }),
    ),
  );
  expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
  expect(logs.entries.filter((e) => /mqtt (reconnected|connection lost)/.test(e.msg ?? ''))).toEqual([]);
}, 120_000);
