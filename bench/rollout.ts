/**
 * Rollout benchmark: one real control plane (own process: HTTP, embedded broker, SQLite, rollout
 * engine) and N simulated devices (split over --shards processes, so every core works), each with
 * its own MQTT connection and the agent's real update path (download into a slot, length + sha256
 * check, onnxruntime load, smoke test, atomic pointer, swap). Measures the time from creating the rollout until every device
 * runs the new model.
 *
 *   npx edgeloop bench rollout [--agents 1000] [--model-bytes 1000000] [--waves 1,10%,50%,100%]
 *                              [--rate 1000000] [--shards 2] [--disk] [--json]
 *
 * State goes to /dev/shm (tmpfs) unless --disk: a thousand devices would each have a disk of
 * their own, and one shared disk's fsyncs would measure that disk instead.
 * Prints {agents, secondsToAllActive, secondsToRolloutCompleted, failed, ...}.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  ApiClient,
  apiRoutes,
  EnrollResponseSchema,
  PROTOCOL_VERSION,
  type RolloutWave,
  routeUrl,
  type TrustedKey,
} from '@edgeloop/shared';
import { testManifest } from '../test/helpers/manifest-fixture.ts';
import { buildTinyClassifier } from '../test/helpers/tiny-onnx.ts';
import type { ShardSpec } from './rollout/device-shard.ts';
import { cpuSeconds, mapLimit, until } from './support/process-figures.ts';
import { ShardProcess } from './support/shard-process.ts';

function parseWaves(text: string): RolloutWave[] {
  return text
    .split(',')
    .map((w) => (w.endsWith('%') ? { percent: Number(w.slice(0, -1)) } : { devices: Number(w) }));
}

async function startControlPlaneProcess(dataDir: string): Promise<{
  child: ChildProcess;
  info: { httpUrl: string; mqttUrl: string; adminToken: string; signingPublicKey: TrustedKey };
}> {
  const configPath = join(dataDir, 'control-plane.json');
  await writeFile(
    configPath,
    JSON.stringify({
      dataDir: join(dataDir, 'control-plane'),
      http: { host: '127.0.0.1', port: 0 },
      mqtt: { host: '127.0.0.1', port: 0 },
      rollouts: { tickMs: 100 },
      // Covers the whole run: with the default 60 s, devices that connected early would check
      // their secret again on the rollout's first HTTP request (see docs/benchmarks.md).
      auth: { credentialCacheSeconds: 3_600 },
      logLevel: 'warn',
    }),
  );
  const script = resolve(import.meta.dirname, 'rollout/control-plane-process.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', script, configPath], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolveLine, reject) => {
    child.once('exit', (code) => reject(new Error(`control plane exited with ${code}`)));
    createInterface({ input: child.stdout! }).once('line', resolveLine);
  });
  return { child, info: JSON.parse(line) };
}

/** A process running a share of the simulated devices (rollout/device-shard.ts). */
class Shard extends ShardProcess<{ connected?: number; active?: number; failed?: number }> {
  connected = false;
  active = 0;
  failed = 0;

  constructor(specPath: string) {
    super(resolve(import.meta.dirname, 'rollout/device-shard.ts'), specPath);
  }

  protected onLine(line: { connected?: number; active?: number; failed?: number }): void {
    if (line.connected !== undefined) this.connected = true;
    if (line.active !== undefined) this.active = line.active;
    if (line.failed !== undefined) this.failed = line.failed;
  }
}

export async function benchMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      agents: { type: 'string', default: '1000' },
      'model-bytes': { type: 'string', default: '1000000' },
      waves: { type: 'string', default: '1,10%,50%,100%' },
      rate: { type: 'string', default: '1000000' },
      shards: { type: 'string', default: '2' },
      disk: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const agentsWanted = Number(values.agents);
  const modelBytes = Number(values['model-bytes']);
  const shardCount = Math.max(1, Number(values.shards));
  const useTmpfs = !values.disk && existsSync('/dev/shm');
  const root = await mkdtemp(join(useTmpfs ? '/dev/shm' : tmpdir(), 'edgeloop-bench-rollout-'));
  const log = (msg: string) => values.json || process.stderr.write(`${msg}\n`);
  const shards: Shard[] = [];
  let cp: ChildProcess | null = null;
  const setupStart = Date.now();
  try {
    const started = await startControlPlaneProcess(root);
    cp = started.child;
    const { info } = started;
    const api = new ApiClient(info.httpUrl, info.adminToken);

    // A ~1 MB model: the tiny red/blue classifier padded with a real (constant-folded) initializer.
    const model = buildTinyClassifier({
      width: 32,
      height: 32,
      weights: [
        [0.005, -0.005],
        [0, 0],
        [-0.005, 0.005],
      ],
      padBytes: modelBytes,
    });
    await api.publishModel(
      testManifest(model, { modelVersion: 1, name: 'bench-rollout' }),
      new Map([['model.onnx', model]]),
    );

    const { token } = await api.createEnrollmentToken({ uses: agentsWanted });
    const ids = Array.from({ length: agentsWanted }, (_, i) => `sim-${String(i).padStart(5, '0')}`);
    log(`enrolling ${ids.length} devices…`);
    const enrolled = await mapLimit(ids, 8, async (deviceId) => {
      const res = await fetch(`${info.httpUrl}${routeUrl(apiRoutes.enrollDevice)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ protocol: PROTOCOL_VERSION, token, deviceId }),
      });
      if (res.status !== 201) throw new Error(`enroll ${deviceId}: ${res.status} ${await res.text()}`);
      return EnrollResponseSchema.parse(await res.json());
    });

    log(`connecting devices in ${shardCount} processes…`);
    for (let s = 0; s < shardCount; s++) {
      const spec: ShardSpec = {
        httpUrl: info.httpUrl,
        mqttUrl: info.mqttUrl,
        trustedKeys: [info.signingPublicKey],
        root: join(root, 'agents'),
        targetVersion: 1,
        devices: enrolled
          .filter((_, i) => i % shardCount === s)
          .map((e) => ({ deviceId: e.deviceId, secret: e.secret })),
      };
      const specPath = join(root, `shard-${s}.json`);
      await writeFile(specPath, JSON.stringify(spec));
      shards.push(new Shard(specPath));
    }
    const check = () => {
      if (!shards.every((sh) => sh.alive())) throw new Error('a device shard exited');
    };
    await until(
      () => {
        check();
        return shards.every((sh) => sh.connected);
      },
      900_000,
      'devices to connect',
    );
    await until(
      async () => (await api.listDevices()).filter((d) => d.online).length === agentsWanted,
      60_000,
      'the control plane to see every device online',
    );
    const setupSeconds = (Date.now() - setupStart) / 1000;

    log('rolling out…');
    const t0 = Date.now();
    const cpuBefore = { devices: shards.map((sh) => cpuSeconds(sh.child.pid)), cp: cpuSeconds(cp.pid) };
    const rollout = await api.createRollout({
      modelVersion: 1,
      target: { all: true },
      strategy: {
        waves: parseWaves(values.waves),
        maxNotifiedPerMinute: Number(values.rate),
        soakSeconds: 0,
        deviceTimeoutSeconds: 300,
      },
    });
    const sum = (f: (sh: Shard) => number) => shards.reduce((n, sh) => n + f(sh), 0);
    await until(
      () => {
        check();
        return sum((sh) => sh.active + sh.failed) === agentsWanted;
      },
      600_000,
      'every device active',
    );
    const secondsToAllActive = (Date.now() - t0) / 1000;
    const cpuDevices = shards.reduce(
      (n, sh, i) => n + ((cpuSeconds(sh.child.pid) ?? 0) - (cpuBefore.devices[i] ?? 0)),
      0,
    );
    const cpCpuNow = cpuSeconds(cp.pid);
    let final = await api.getRollout(rollout.rolloutId);
    await until(
      async () => {
        final = await api.getRollout(rollout.rolloutId);
        return final.state !== 'running';
      },
      120_000,
      'the rollout to finish',
    );
    const secondsToRolloutCompleted = (Date.now() - t0) / 1000;
    const result = {
      agents: agentsWanted,
      secondsToAllActive: Math.round(secondsToAllActive * 100) / 100,
      secondsToRolloutCompleted: Math.round(secondsToRolloutCompleted * 100) / 100,
      failed: agentsWanted - sum((sh) => sh.active),
      rolloutState: final.state,
      rolloutCounts: final.counts,
      waves: final.waves.map((w) => w.devices),
      modelBytes: model.byteLength,
      deviceProcesses: shardCount,
      stateOn: useTmpfs ? 'tmpfs' : 'disk',
      setupSeconds: Math.round(setupSeconds * 10) / 10,
      // CPU used from rollout start to all active: what the run costs on a quiet machine.
      cpuSecondsDevices: Math.round(cpuDevices * 100) / 100,
      cpuSecondsControlPlane:
        cpCpuNow === null || cpuBefore.cp === null ? null : Math.round((cpCpuNow - cpuBefore.cp) * 100) / 100,
      loadAverage1m: Math.round(loadavg()[0] * 10) / 10,
    };
    process.stdout.write(
      values.json ? `${JSON.stringify(result)}\n` : `${JSON.stringify(result, null, 2)}\n`,
    );
    return result.failed === 0 && final.state === 'completed' ? 0 : 1;
  } finally {
    await Promise.allSettled(shards.map((sh) => sh.stop()));
    if (cp && cp.exitCode === null) {
      const exited = new Promise((r) => cp!.once('exit', r));
      cp.kill('SIGTERM');
      await exited;
    }
    await rm(root, { recursive: true, force: true });
  }
}
