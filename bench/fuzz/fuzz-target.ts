/**
 * The control plane under fuzz: a real process of its own (bench/rollout/control-plane-process.ts)
 * so a crash is an exit the bench sees, not the bench's own death; stderr is kept to count the
 * unexpected errors it logs. Loopback only; the pipeline's commands fail at once (no training).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

export interface FuzzTarget {
  child: ChildProcess;
  httpUrl: string;
  mqttUrl: string;
  adminToken: string;
  dataDir: string;
  /** Set once the process has exited (a crash unless stop() asked for it). */
  exited: { code: number | null; signal: string | null } | null;
  /** Lines the control plane logged at level error (50) or worse. */
  errorLines: string[];
  stop(): Promise<void>;
}

export async function startFuzzTarget(root: string): Promise<FuzzTarget> {
  const dataDir = join(root, 'control-plane');
  const configPath = join(root, 'control-plane.json');
  await writeFile(
    configPath,
    JSON.stringify({
      dataDir,
      http: { host: '127.0.0.1', port: 0 },
      mqtt: { host: '127.0.0.1', port: 0 },
      logLevel: 'error',
      limits: { sampleMaxBytes: 512 * 1024, sampleMaxPixels: 4_000_000, modelMaxBytes: 2 * 1024 * 1024 },
      datasetImport: { timeoutSec: 1, maxRedirects: 1 },
      pipeline: {
        trainCommand: [process.execPath, '-e', 'process.exit(3)'],
        predictCommand: [process.execPath, '-e', 'process.exit(3)'],
        retries: 0,
      },
      alerts: { enabled: false },
      // The fuzz tries inputs, not floods: thousands of wrong credentials from one address would
      // otherwise (rightly) rate-limit the fuzz's own device (bench flood measures the limits).
      rateLimits: {
        addressBurst: 1_000_000,
        addressPerMinute: 1_000_000,
        identityBurst: 1_000_000,
        identityPerMinute: 1_000_000,
      },
      quotas: { messagesPerSecond: 100_000, messagesBurst: 100_000, samplesPerHour: 1_000_000 },
    }),
  );
  const script = resolve(import.meta.dirname, '../rollout/control-plane-process.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', script, configPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Every answer, to hostile inputs too, must be one the contract documents (else it is a 500).
    env: { ...process.env, EDGELOOP_CHECK_RESPONSES: '1' },
  });
  const target: FuzzTarget = {
    child,
    httpUrl: '',
    mqttUrl: '',
    adminToken: '',
    dataDir,
    exited: null,
    errorLines: [],
    async stop() {
      if (target.exited) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      await gone;
    },
  };
  createInterface({ input: child.stderr! }).on('line', (line) => {
    if (/"level":(50|60)/.test(line)) target.errorLines.push(line.slice(0, 2000));
  });
  const line = await new Promise<string>((resolveLine, reject) => {
    child.once('exit', (code, signal) => {
      target.exited = { code, signal };
      reject(new Error(`control plane exited with ${code ?? signal}`));
    });
    createInterface({ input: child.stdout! }).once('line', resolveLine);
  });
  child.removeAllListeners('exit');
  child.once('exit', (code, signal) => {
    target.exited = { code, signal };
  });
  const info = JSON.parse(line) as { httpUrl: string; mqttUrl: string; adminToken: string };
  Object.assign(target, info);
  return target;
}
