/**
 * Rollout benchmark: one real control plane (own process: HTTP, embedded broker, SQLite, rollout
 * engine) and N simulated devices in this process, each with its own MQTT connection and the
 * agent's real update path (download into a slot, length + sha256 check, onnxruntime load, smoke
 * test, atomic pointer, swap). Measures the time from creating the rollout until every device
 * runs the new model.
 *
 *   npx edgeloop bench rollout [--agents 1000] [--model-bytes 1000000] [--waves 1,10%,50%,100%]
 *                              [--rate 1000000] [--disk] [--json]
 *
 * State goes to /dev/shm (tmpfs) unless --disk: a thousand devices would each have a disk of
 * their own, and one shared disk's fsyncs (~4 ms each here) would measure that disk instead.
 * Prints {agents, secondsToAllActive, secondsToRolloutCompleted, failed, ...}.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  ApiClient,
  createLogger,
  EnrollResponseSchema,
  PROTOCOL_VERSION,
  type RolloutWave,
  type TrustedKey,
} from '@edgeloop/shared';
import { createOnnxBackend } from '../agent/src/inference/onnx-backend.ts';
import { testManifest } from '../test/helpers/manifest-fixture.ts';
import { buildTinyClassifier } from '../test/helpers/tiny-onnx.ts';
import { type SimulatedAgent, startSimulatedAgent } from './rollout/simulated-agent.ts';

const CONNECT_BATCH = 50;

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
      // Covers the whole run: with the default 60 s, devices that connected early would redo
      // their scrypt check on the rollout's first HTTP request (see docs/benchmarks.md).
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

/** CPU seconds (user + system) a process used so far, from /proc (Linux); null elsewhere. */
function cpuSecondsOf(pid: number | undefined): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in USER_HZ (100)
  } catch {
    return null;
  }
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

async function until(
  probe: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
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
      disk: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const agentsWanted = Number(values.agents);
  const modelBytes = Number(values['model-bytes']);
  const useTmpfs = !values.disk && existsSync('/dev/shm');
  const root = await mkdtemp(join(useTmpfs ? '/dev/shm' : tmpdir(), 'edgeloop-bench-rollout-'));
  const log = (msg: string) => values.json || process.stderr.write(`${msg}\n`);
  const logger = createLogger({ level: 'silent' });
  const agents: SimulatedAgent[] = [];
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
      const res = await fetch(`${info.httpUrl}/api/v1/devices/enroll`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ protocol: PROTOCOL_VERSION, token, deviceId }),
      });
      if (res.status !== 201) throw new Error(`enroll ${deviceId}: ${res.status} ${await res.text()}`);
      return EnrollResponseSchema.parse(await res.json());
    });

    log('connecting devices…');
    const backend = createOnnxBackend();
    for (let i = 0; i < enrolled.length; i += CONNECT_BATCH) {
      const batch = await Promise.all(
        enrolled.slice(i, i + CONNECT_BATCH).map((e) =>
          startSimulatedAgent({
            deviceId: e.deviceId,
            secret: e.secret,
            httpUrl: info.httpUrl,
            mqttUrl: info.mqttUrl,
            dataDir: join(root, 'agents', e.deviceId),
            trustedKeys: [info.signingPublicKey],
            backend,
            logger,
          }),
        ),
      );
      agents.push(...batch);
      await until(() => batch.every((a) => a.connected()), 120_000, 'devices to connect');
    }
    await until(
      async () => (await api.listDevices()).filter((d) => d.online).length === agents.length,
      60_000,
      'the control plane to see every device online',
    );
    const setupSeconds = (Date.now() - setupStart) / 1000;

    log('rolling out…');
    const t0 = Date.now();
    const cpuBefore = { bench: process.cpuUsage(), cp: cpuSecondsOf(cp.pid) };
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
    await until(
      () => agents.every((a) => a.version() === 1 || a.failures() > 0),
      600_000,
      'every device active',
    );
    const secondsToAllActive = (Date.now() - t0) / 1000;
    const benchCpu = process.cpuUsage(cpuBefore.bench);
    const cpCpuNow = cpuSecondsOf(cp.pid);
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
      agents: agents.length,
      secondsToAllActive: Math.round(secondsToAllActive * 100) / 100,
      secondsToRolloutCompleted: Math.round(secondsToRolloutCompleted * 100) / 100,
      failed: agents.filter((a) => a.version() !== 1).length,
      rolloutState: final.state,
      rolloutCounts: final.counts,
      waves: final.waves.map((w) => w.devices),
      modelBytes: model.byteLength,
      stateOn: useTmpfs ? 'tmpfs' : 'disk',
      setupSeconds: Math.round(setupSeconds * 10) / 10,
      // CPU used from rollout start to all active, per process: what the run costs on a quiet machine.
      cpuSecondsDevices: Math.round((benchCpu.user + benchCpu.system) / 1e4) / 100,
      cpuSecondsControlPlane:
        cpCpuNow === null || cpuBefore.cp === null ? null : Math.round((cpCpuNow - cpuBefore.cp) * 100) / 100,
      loadAverage1m: Math.round(loadavg()[0] * 10) / 10,
      benchProcessRssMb: Math.round(process.memoryUsage().rss / 1e6),
    };
    process.stdout.write(
      values.json ? `${JSON.stringify(result)}\n` : `${JSON.stringify(result, null, 2)}\n`,
    );
    return result.failed === 0 && final.state === 'completed' ? 0 : 1;
  } finally {
    await Promise.allSettled(agents.map((a) => a.close()));
    if (cp && cp.exitCode === null) {
      const exited = new Promise((r) => cp!.once('exit', r));
      cp.kill('SIGTERM');
      await exited;
    }
    await rm(root, { recursive: true, force: true });
  }
}
