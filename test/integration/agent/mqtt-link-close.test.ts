/**
 * An agent stopping (a service restart, an update) while its broker has stopped answering — a
 * dead route, not a refused connection: the link still says goodbye when it can (offline status,
 * graceful DISCONNECT), but never waits for an acknowledgement without limit, so the agent's stop
 * finishes and systemd does not have to kill it.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { silentLogger, topics } from '@edgeloop/shared';
import { Aedes } from 'aedes';
import { afterEach, expect, it, vi } from 'vitest';
import { MqttLink } from '../../../agent/src/comms/mqtt-link.ts';
import { startCuttableHop } from '../../helpers/cuttable-hop.ts';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function broker(): Promise<string> {
  const aedes = await Aedes.createBroker();
  const server: Server = createServer(aedes.handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise<void>((resolve) => aedes.close(() => server.close(() => resolve()))));
  return `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`;
}

it('stops within moments when the broker stops answering', async () => {
  const hop = await startCuttableHop(await broker());
  cleanups.push(() => hop.close());
  const link = new MqttLink({ url: hop.url, deviceId: 'cam-1', secret: 's', logger: silentLogger() });
  await vi.waitFor(() => expect(link.connected()).toBe(true), { timeout: 10_000 });

  hop.stall();
  const started = Date.now();
  await link.close(500);
  expect(Date.now() - started).toBeLessThan(5_000);
}, 30_000);

it('still says goodbye gracefully to a broker that answers', async () => {
  const url = await broker();
  const watcher = await import('mqtt').then((m) => m.default.connectAsync(url));
  cleanups.push(() => watcher.endAsync(true));
  const statuses: string[] = [];
  watcher.on('message', (_t, payload) => statuses.push(payload.toString()));
  await watcher.subscribeAsync(topics.status('cam-1'), { qos: 1 });

  const link = new MqttLink({ url, deviceId: 'cam-1', secret: 's', logger: silentLogger() });
  await vi.waitFor(() => expect(link.connected()).toBe(true), { timeout: 10_000 });
  await link.close();
  await vi.waitFor(() => expect(statuses.some((s) => JSON.parse(s).online === false)).toBe(true));
}, 30_000);
