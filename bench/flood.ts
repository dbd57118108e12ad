/**
 * Flood benchmark: one real control plane (own process) while `--attackers` concurrent clients
 * (own process, each from its own loopback address) hammer enrollment, dashboard sign-in and MQTT
 * CONNECT with wrong credentials for `--duration` seconds. Meanwhile the bench probes
 * `GET health` back to back and `--devices` enrolled devices (real MQTT clients, real
 * credentials) publish their reported state every 250 ms at QoS 1.
 *
 *   npx edgeloop bench flood [--attackers 200] [--duration 60] [--devices 20] [--json]
 *
 * Prints {attackers, durationS, healthP50Ms, healthP99Ms, devices, statesSent, statesStored,
 * lostStates, peakRssMb, refused429, connackRefused, ...}. The control plane runs with its default
 * limits (docs/security.md, "Denial of service and endless data").
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  ApiClient,
  apiRoutes,
  deviceClientId,
  EnrollResponseSchema,
  PROTOCOL_VERSION,
  type ReportedState,
  routeUrl,
  topics,
} from '@edgeloop/shared';
import mqtt, { type MqttClient } from 'mqtt';
import { hashSecret } from '../control-plane/src/auth/secrets.ts';
import type { AttackCounts, AttackSpec } from './flood/attackers.ts';

const USER = 'olga';

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** Peak resident set size of a process (VmHWM, Linux), in MiB; null elsewhere. */
function peakRssMb(pid: number | undefined): number | null {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Math.round(Number(match[1]) / 1024) : null;
  } catch {
    return null;
  }
}

function runChild(script: string, args: string[]): { child: ChildProcess; firstLine: Promise<string> } {
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(import.meta.dirname, script), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const firstLine = new Promise<string>((resolveLine, reject) => {
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
    createInterface({ input: child.stdout! }).once('line', resolveLine);
  });
  return { child, firstLine };
}

async function metricValue(httpUrl: string, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  let sum = 0;
  for (const m of text.matchAll(new RegExp(pattern.source, 'g'))) sum += Number(m[1]);
  return sum;
}

export interface FloodFigures {
  attackers: number;
  durationS: number;
  healthP50Ms: number;
  healthP99Ms: number;
  healthMaxMs: number;
  healthChecks: number;
  healthFailures: number;
  devices: number;
  statesSent: number;
  statesStored: number;
  lostStates: number;
  lastStateStored: number;
  peakRssMb: number | null;
  refused429: number;
  connackRefused: number;
  attempts: number;
  hashedRefusals: { unauthorized401: number; connackBadCredentials: number };
  otherOutcomes: Record<string, number>;
  loadAverage1m: number;
}

export async function runFlood(options: {
  attackers: number;
  durationS: number;
  devices: number;
}): Promise<FloodFigures> {
  const root = await mkdtemp(join(tmpdir(), 'edgeloop-bench-flood-'));
  const children: ChildProcess[] = [];
  const clients: MqttClient[] = [];
  try {
    const configPath = join(root, 'control-plane.json');
    await writeFile(
      configPath,
      JSON.stringify({
        dataDir: join(root, 'control-plane'),
        http: { host: '127.0.0.1', port: 0 },
        mqtt: { host: '127.0.0.1', port: 0 },
        users: [{ name: USER, role: 'operator', passwordHash: await hashSecret('the-right-password') }],
        logLevel: 'warn',
      }),
    );
    const cp = runChild('rollout/control-plane-process.ts', [configPath]);
    children.push(cp.child);
    const info = JSON.parse(await cp.firstLine) as { httpUrl: string; mqttUrl: string; adminToken: string };
    const api = new ApiClient(info.httpUrl, info.adminToken);

    // The honest fleet: enrolled and connected before the flood starts.
    const { token } = await api.createEnrollmentToken({ uses: options.devices });
    for (let i = 0; i < options.devices; i++) {
      const res = await fetch(`${info.httpUrl}${routeUrl(apiRoutes.enrollDevice)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ protocol: PROTOCOL_VERSION, token, deviceId: `real-${i}` }),
      });
      if (res.status !== 201) throw new Error(`enroll real-${i}: ${res.status} ${await res.text()}`);
      const device = EnrollResponseSchema.parse(await res.json());
      clients.push(
        await mqtt.connectAsync(info.mqttUrl, {
          clientId: deviceClientId(device.deviceId),
          username: device.deviceId,
          password: device.secret,
          reconnectPeriod: 1000,
        }),
      );
    }
    const statesBefore = await metricValue(
      info.httpUrl,
      /edgeloop_mqtt_messages_received_total\{kind="state"\} (\d+)/,
    );

    const spec: AttackSpec = {
      ...info,
      attackers: options.attackers,
      durationS: options.durationS,
      userName: USER,
    };
    const attackers = runChild('flood/attackers.ts', [JSON.stringify(spec)]);
    children.push(attackers.child);
    const deadline = Date.now() + options.durationS * 1000;

    const latencies: number[] = [];
    let healthFailures = 0;
    const probe = (async () => {
      while (Date.now() < deadline) {
        const start = performance.now();
        try {
          const res = await fetch(`${info.httpUrl}${routeUrl(apiRoutes.getHealth)}`, {
            signal: AbortSignal.timeout(5_000),
          });
          await res.arrayBuffer();
          if (res.status !== 200) healthFailures++;
        } catch {
          healthFailures++;
        }
        latencies.push(performance.now() - start);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    let statesSent = 0;
    const lastSeq: number[] = clients.map(() => 0);
    const publish = (async () => {
      for (let seq = 1; Date.now() < deadline; seq++) {
        await Promise.all(
          clients.map(async (client, i) => {
            const state: ReportedState = {
              protocol: PROTOCOL_VERSION,
              modelVersion: null,
              status: 'running',
              agentVersion: 'bench-flood',
              framesProcessed: seq,
              samplesQueued: 0,
              reportedAt: new Date().toISOString(),
            };
            await client.publishAsync(topics.state(`real-${i}`), JSON.stringify(state), {
              qos: 1,
              retain: true,
            });
            statesSent++;
            lastSeq[i] = seq;
          }),
        );
        await new Promise((r) => setTimeout(r, 250));
      }
    })();

    await Promise.all([probe, publish]);
    const counts = JSON.parse(await attackers.firstLine) as AttackCounts;
    // Give the last states time to arrive (QoS 1 acked by the broker, then delivered on).
    const settle = Date.now() + 10_000;
    let received = 0;
    while (Date.now() < settle) {
      received =
        (await metricValue(info.httpUrl, /edgeloop_mqtt_messages_received_total\{kind="state"\} (\d+)/)) -
        statesBefore;
      if (received >= statesSent) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const dropped = await metricValue(
      info.httpUrl,
      /edgeloop_device_quota_exceeded_total\{kind="state"\} (\d+)/,
    );
    // Received states are written in batches (ingest.flushMs): wait, within the same bound, for the last ones.
    let lastStateStored = 0;
    do {
      lastStateStored = 0;
      for (let i = 0; i < clients.length; i++) {
        const device = (await api.call(apiRoutes.getDevice, { params: { id: `real-${i}` } })) as {
          framesProcessed: number;
        };
        if (device.framesProcessed === lastSeq[i]) lastStateStored++;
      }
      if (lastStateStored < clients.length) await new Promise((r) => setTimeout(r, 100));
    } while (lastStateStored < clients.length && Date.now() < settle);
    const statesStored = received - dropped;
    const sorted = [...latencies].sort((a, b) => a - b);
    const round = (n: number) => Math.round(n * 10) / 10;
    return {
      attackers: options.attackers,
      durationS: options.durationS,
      healthP50Ms: round(percentile(sorted, 50)),
      healthP99Ms: round(percentile(sorted, 99)),
      healthMaxMs: round(sorted.at(-1) ?? Number.NaN),
      healthChecks: latencies.length,
      healthFailures,
      devices: clients.length,
      statesSent,
      statesStored,
      lostStates: statesSent - statesStored,
      lastStateStored,
      peakRssMb: peakRssMb(cp.child.pid),
      refused429: counts.refused429,
      connackRefused: counts.connackRefused,
      attempts: counts.attempts,
      hashedRefusals: {
        unauthorized401: counts.unauthorized401,
        connackBadCredentials: counts.connackBadCredentials,
      },
      otherOutcomes: counts.otherOutcomes,
      loadAverage1m: round(loadavg()[0] ?? 0),
    };
  } finally {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
    for (const child of children) {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    }
    await rm(root, { recursive: true, force: true });
  }
}

export async function benchMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      attackers: { type: 'string', default: '200' },
      duration: { type: 'string', default: '60' },
      devices: { type: 'string', default: '20' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const figures = await runFlood({
    attackers: Number(values.attackers),
    durationS: Number(values.duration),
    devices: Number(values.devices),
  });
  if (values.json) process.stdout.write(`${JSON.stringify(figures)}\n`);
  else {
    process.stdout.write(
      `${figures.attackers} attackers for ${figures.durationS} s: health p50 ${figures.healthP50Ms} ms, p99 ${figures.healthP99Ms} ms; ` +
        `${figures.devices} devices sent ${figures.statesSent} states, lost ${figures.lostStates}; ` +
        `peak RSS ${figures.peakRssMb} MiB; ${figures.refused429} HTTP 429, ${figures.connackRefused} CONNACK refused\n`,
    );
  }
  return figures.lostStates === 0 && figures.healthFailures === 0 ? 0 : 1;
}
