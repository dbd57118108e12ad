/**
 * A real Mosquitto 2 with the dynamic-security plugin, per test, on a loopback port: the dynsec
 * file made by `mosquitto_ctrl dynsec init`, the control plane's service identity made by
 * deploy/mosquitto/setup-dynsec.sh (the script the docs tell operators to run). Started as root,
 * Mosquitto drops to the `mosquitto` user and rewrites the dynsec file on every change, so its
 * folder is handed to that user.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.ts';

const run = promisify(execFile);
const SETUP_SCRIPT = resolve(import.meta.dirname, '../../deploy/mosquitto/setup-dynsec.sh');
const PLUGINS = [
  '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so',
  '/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so',
];

export interface Mosquitto {
  /** mqtt://127.0.0.1:port, no credentials. */
  url: string;
  port: number;
  admin: { username: string; password: string };
  /** The control plane's service identity (setup-dynsec.sh). */
  service: { username: string; password: string };
  /** The running broker's process id (benchmarks read its CPU time and peak memory). */
  pid(): number | undefined;
  /** Everything Mosquitto logged so far (stderr). */
  log(): string;
  start(): Promise<void>;
  stop(): Promise<void>;
  remove(): Promise<void>;
}

async function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

/** A configured broker with the service identity in place, running unless `running: false`. */
/**
 * Given a `dir`, the broker's files live there and are kept: a later start with the same dir
 * reuses the dynsec file with every identity in it (benchmarks reusing a large enrolled fleet).
 */
export async function startMosquitto(options: { running?: boolean; dir?: string } = {}): Promise<Mosquitto> {
  const plugin = PLUGINS.find((p) => existsSync(p));
  if (!plugin) throw new Error('mosquitto dynamic-security plugin not found (apt-get install mosquitto)');
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'edgeloop-mosquitto-'));
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const dynsecFile = join(dir, 'dynamic-security.json');
  const confFile = join(dir, 'mosquitto.conf');
  const identitiesFile = join(dir, 'identities.json');
  const reused = options.dir !== undefined && existsSync(identitiesFile) && existsSync(dynsecFile);
  const { admin, service } = reused
    ? (JSON.parse(readFileSync(identitiesFile, 'utf8')) as Pick<Mosquitto, 'admin' | 'service'>)
    : {
        admin: { username: 'admin', password: randomBytes(12).toString('hex') },
        service: { username: 'edgeloop-control-plane', password: randomBytes(12).toString('hex') },
      };
  if (!reused) await run('mosquitto_ctrl', ['dynsec', 'init', dynsecFile, admin.username, admin.password]);
  writeFileSync(
    confFile,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous false',
      `plugin ${plugin}`,
      `plugin_opt_config_file ${dynsecFile}`,
      'persistence false',
      // As deploy/mosquitto/mosquitto.conf: the control plane's backlog waits here while its
      // database is slow (the default of 1000 per client drops the rest).
      'max_queued_messages 1000000',
      'log_dest stderr',
      // Not `all`: at thousands of devices that is a line per message; log() only explains failures.
      'log_type error warning notice information',
      '',
    ].join('\n'),
  );
  if (process.getuid?.() === 0) {
    const { stdout } = await run('id', ['-u', 'mosquitto']);
    const { stdout: gid } = await run('id', ['-g', 'mosquitto']);
    for (const path of [dir, dynsecFile, confFile]) chownSync(path, Number(stdout), Number(gid));
  }

  let child: ChildProcess | null = null;
  let logText = '';
  const broker: Mosquitto = {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    admin,
    service,
    log: () => logText,
    pid: () => child?.pid,
    async start() {
      if (child) return;
      const started = spawn('mosquitto', ['-c', confFile], { stdio: ['ignore', 'ignore', 'pipe'] });
      child = started;
      started.stderr?.on('data', (chunk: Buffer) => {
        // Bounded: the last 64 KiB is plenty to explain a failure.
        logText = (logText + chunk.toString('utf8')).slice(-65_536);
      });
      const deadline = Date.now() + 10_000;
      while (!(await acceptsConnections(port))) {
        if (started.exitCode !== null) throw new Error(`mosquitto exited: ${logText}`);
        if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${port}: ${logText}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      const running = child;
      child = null;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((r) => running.once('exit', r));
      running.kill('SIGTERM');
      await exited;
    },
    async remove() {
      await broker.stop();
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
  await broker.start();
  if (reused) {
    if (options.running === false) await broker.stop();
    return broker;
  }
  if (options.dir) writeFileSync(identitiesFile, JSON.stringify({ admin, service }), { mode: 0o600 });
  await run('sh', [SETUP_SCRIPT], {
    env: {
      ...process.env,
      MOSQUITTO_PORT: String(port),
      MOSQUITTO_ADMIN_PASSWORD: admin.password,
      EDGELOOP_MQTT_PASSWORD: service.password,
    },
  });
  if (options.running === false) await broker.stop();
  return broker;
}
