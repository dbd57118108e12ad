/**
 * A share of the simulated fleet for `edgeloop bench fleet`, in a process of its own:
 * `node --import tsx fleet-shard.ts SPEC.json`. Each device is the agent's own update path
 * (bench/rollout/simulated-agent.ts) with its own MQTT connection and credentials, publishing
 * predictions at `predictionsPerMinute` while told to. Reads commands as JSON lines on stdin
 * ({"predict": true|false}); prints JSON lines: {"connected": n} once all are connected, then
 * every 200 ms {"versions": {...}, "failed": n, "sent": n} when anything changed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createLogger, type TrustedKey } from '@edgeloop/shared';
import { type SimulatedAgent, startSimulatedAgent } from '../rollout/simulated-agent.ts';
import { createSharedSessionBackend } from './shared-session-backend.ts';

export interface FleetShardSpec {
  /** The replicas' HTTP: device i of the shard uses the i-th modulo their count. */
  httpUrls: string[];
  mqttUrl: string;
  trustedKeys: TrustedKey[];
  root: string;
  predictionsPerMinute: number;
  devices: { deviceId: string; secret: string }[];
}

const CONNECT_BATCH = 100;
const spec = JSON.parse(readFileSync(process.argv[2], 'utf8')) as FleetShardSpec;
const logger = createLogger({ level: 'silent' });
const backend = createSharedSessionBackend();
const agents: SimulatedAgent[] = [];
let predicting = false;
let sent = 0;

process.once('SIGTERM', () => {
  Promise.allSettled(agents.map((a) => a.close())).then(() => process.exit(0));
});
createInterface({ input: process.stdin }).on('line', (text) => {
  const command = JSON.parse(text) as { predict?: boolean };
  if (command.predict !== undefined) predicting = command.predict;
});

for (let i = 0; i < spec.devices.length; i += CONNECT_BATCH) {
  const batch = await Promise.all(
    spec.devices.slice(i, i + CONNECT_BATCH).map((d, j) =>
      startSimulatedAgent({
        ...d,
        httpUrl: spec.httpUrls[(i + j) % spec.httpUrls.length],
        mqttUrl: spec.mqttUrl,
        dataDir: join(spec.root, d.deviceId),
        trustedKeys: spec.trustedKeys,
        backend,
        logger,
      }),
    ),
  );
  agents.push(...batch);
  while (!batch.every((a) => a.connected())) await new Promise((r) => setTimeout(r, 50));
}
process.stdout.write(`${JSON.stringify({ connected: agents.length })}\n`);

// Predictions: every device at the same rate, spread evenly over each period.
if (spec.predictionsPerMinute > 0) {
  const periodMs = 60_000 / spec.predictionsPerMinute;
  const tickMs = 50;
  const perTick = (agents.length * tickMs) / periodMs;
  let carry = 0;
  let cursor = 0;
  let frame = 0;
  setInterval(() => {
    if (!predicting) return;
    carry += perTick;
    for (; carry >= 1; carry--) {
      const agent = agents[cursor++ % agents.length];
      if (agent.predict(`f-${frame++}`)) sent++;
    }
  }, tickMs);
}

let last = '';
setInterval(() => {
  const versions: Record<string, number> = {};
  let failed = 0;
  for (const a of agents) {
    const v = String(a.version());
    versions[v] = (versions[v] ?? 0) + 1;
    if (a.gaveUp()) failed++;
  }
  const line = JSON.stringify({ versions, failed, sent });
  if (line !== last) {
    last = line;
    process.stdout.write(`${line}\n`);
  }
}, 200);
