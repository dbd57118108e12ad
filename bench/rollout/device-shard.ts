/**
 * A share of the simulated fleet in a process of its own, so the devices use every core:
 * `node --import tsx device-shard.ts SHARD.json`. Connects its devices in batches, then prints
 * JSON lines: {"connected":n} once all are connected, and {"active":a,"failed":f} whenever the
 * count of devices running `targetVersion` (or given up on it) changes. Stops on SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger, type TrustedKey } from '@edgeloop/shared';
import { createOnnxBackend } from '../../agent/src/inference/onnx-backend.ts';
import { type SimulatedAgent, startSimulatedAgent } from './simulated-agent.ts';

export interface ShardSpec {
  httpUrl: string;
  mqttUrl: string;
  trustedKeys: TrustedKey[];
  root: string;
  targetVersion: number;
  devices: { deviceId: string; secret: string }[];
}

const CONNECT_BATCH = 50;
const spec = JSON.parse(readFileSync(process.argv[2], 'utf8')) as ShardSpec;
const logger = createLogger({ level: 'silent' });
// One process stands in for hundreds of devices: their sessions stay on this thread.
const backend = createOnnxBackend({ inProcess: true });
const agents: SimulatedAgent[] = [];
const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

process.once('SIGTERM', () => {
  Promise.allSettled(agents.map((a) => a.close())).then(() => process.exit(0));
});

for (let i = 0; i < spec.devices.length; i += CONNECT_BATCH) {
  const batch = await Promise.all(
    spec.devices.slice(i, i + CONNECT_BATCH).map((d) =>
      startSimulatedAgent({
        ...d,
        httpUrl: spec.httpUrl,
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
say({ connected: agents.length });

let last = '';
setInterval(() => {
  const active = agents.filter((a) => a.version() === spec.targetVersion).length;
  const failed = agents.filter((a) => a.version() !== spec.targetVersion && a.gaveUp()).length;
  const line = JSON.stringify({ active, failed });
  if (line !== last) {
    last = line;
    process.stdout.write(`${line}\n`);
  }
}, 50);
