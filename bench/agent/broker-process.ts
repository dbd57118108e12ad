/**
 * The broker side of `bench agent`, in its own process as on a real site (the control plane's
 * broker is never inside the agent's process): an aedes broker on a free loopback port that stamps
 * each of one device's predictions as it receives the PUBLISH, i.e. the moment the prediction is
 * published. Fan-out to subscribers is the control plane's work, not the agent's, and is not timed.
 *
 *   node --import tsx bench/agent/broker-process.ts DEVICE_ID
 *
 * stdout, one JSON object a line: first {"port":N}, then batches {"arrivals":[[frameId, atMs], …]}
 * every 100 ms. atMs is process.hrtime in milliseconds: CLOCK_MONOTONIC, the same clock in every
 * process on the machine, so the agent side can subtract its own hrtime stamps from it.
 * Batching keeps this process's own work per message to a parse and a push.
 */
import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import { PredictionSchema, topics } from '@edgeloop/shared';
import { Aedes } from 'aedes';

const deviceId = process.argv[2];
if (!deviceId) throw new Error('usage: broker-process.ts DEVICE_ID');

const hrMs = () => Number(process.hrtime.bigint()) / 1e6;
const broker = await Aedes.createBroker();
const server = createServer({ noDelay: true }, broker.handle);
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const topic = topics.predictions(deviceId);

let arrivals: [string, number][] = [];
// authorizePublish is the first thing aedes does with a client's PUBLISH once it is read off the socket.
broker.authorizePublish = (_client, packet, callback) => {
  if (packet.topic === topic) {
    const at = hrMs();
    // Validated like any consumer would, after the stamp: parsing is the reader's cost, not the link's.
    arrivals.push([PredictionSchema.parse(JSON.parse(packet.payload.toString())).frameId, at]);
  }
  callback(null);
};
const flush = () => {
  if (arrivals.length === 0) return;
  process.stdout.write(`${JSON.stringify({ arrivals })}\n`);
  arrivals = [];
};
setInterval(flush, 100);
process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);

process.on('SIGTERM', () => {
  flush();
  broker.close(() => server.close(() => process.exit(0)));
});
