/**
 * Fleet benchmark: the control plane past one machine under a simulated fleet.
 *
 *   npx edgeloop bench fleet [--devices 10000] [--replicas 2] [--store postgres|sqlite]
 *     [--broker mosquitto|embedded] [--objects s3|local] [--ingest-seconds 60]
 *     [--predictions-per-minute 6] [--shards N] [--model-bytes 200000] [--state DIR] [--json]
 *
 * Starts the replicas as processes of their own (cluster.enabled when more than one) on one shared
 * store — a throwaway Postgres 15 (needed, and the default, with several replicas) or a SQLite
 * file (the default with one) —, a real Mosquitto with dynamic security (or the embedded broker
 * with one replica), an S3 server for model files in a process of its own (devices fetch them
 * through presigned URLs), and a round-robin balancer for enrolment, the API and the fleet page.
 * Devices enroll through the balancer (each its own credentials, made by the control plane), then
 * reach the replicas' HTTP directly, spread over them by device as DNS round-robin would (a
 * balancer in one process would hold two descriptors per device), and run in --shards processes
 * (default: one per 2,500 devices, at least two): each its own MQTT connection and the agent's
 * verified install path
 * (download, sha256 and signature, smoke test in onnxruntime — one session per distinct file,
 * shared — atomic pointer). Version 1 is installed everywhere first; then
 * - ingest: every device publishes predictions at the given rate for --ingest-seconds while the
 *   fleet page is read through the balancer;
 * - rollout: the next version (2 on a fresh fleet) to every device (1, 10%, 100%, no soak, not paced) until all run it, the
 *   devices still classifying; then every prediction sent since ingest began is compared with
 *   the count the store holds (edgeloop_predictions_stored).
 * CPU per device update is what the rollout added: the control plane's CPU over the rollout minus
 * its steady cost (devices classifying, no page reads, measured for 15 s before) over as many
 * seconds; the gross figure is printed too.
 * Prints one JSON object. Setup (enrolling every device, its broker identity included) is not timed.
 * Postgres' own CPU (postmaster and backends) is reported apart from the control plane's: both
 * are part of what a device update costs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  ApiClient,
  apiRoutes,
  type ControlPlaneConfigInput,
  EnrollResponseSchema,
  type ObjectStoreConfig,
  PROTOCOL_VERSION,
  routeUrl,
  type TrustedKey,
} from '@edgeloop/shared';
import { freePort } from '../test/helpers/free-port.ts';
import { testManifest } from '../test/helpers/manifest-fixture.ts';
import { type Mosquitto, startMosquitto } from '../test/helpers/mosquitto.ts';
import { type PostgresCluster, startPostgres } from '../test/helpers/postgres-cluster.ts';
import { startTcpBalancer, type TcpBalancer } from '../test/helpers/tcp-balancer.ts';
import { buildTinyClassifier } from '../test/helpers/tiny-onnx.ts';
import type { FleetShardSpec } from './fleet/fleet-shard.ts';
import {
  cpuSeconds,
  mapLimit,
  peakRssMb,
  treeCpuSeconds,
  treePssMb,
  until,
} from './support/process-figures.ts';
import { ShardProcess } from './support/shard-process.ts';

/** What --state keeps of an enrolled fleet besides the servers' own files. */
interface SavedFleet {
  devices: { deviceId: string; secret: string }[];
  broker: string;
  store: string;
  /** The version every device runs after the last run. */
  version: number;
  /** Still enrolling (a run stopped part-way): the next run enrols the rest. */
  enrolling?: boolean;
}

interface ReplicaInfo {
  httpUrl: string;
  mqttUrl: string;
  adminToken: string;
  signingPublicKey: TrustedKey;
}

/** A server in a process of its own that prints one JSON line when it is up, and stops on SIGTERM. */
class ServerProcess<Info> {
  child: ChildProcess | null = null;
  info: Info | null = null;
  constructor(
    readonly script: string,
    readonly args: string[],
  ) {}

  async start(): Promise<Info> {
    const child = spawn(process.execPath, ['--import', 'tsx', this.script, ...this.args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.child = child;
    const line = await new Promise<string>((resolveLine, reject) => {
      child.once('exit', (code) => reject(new Error(`${this.script} exited with ${code}`)));
      createInterface({ input: child.stdout! }).once('line', resolveLine);
    });
    this.info = JSON.parse(line) as Info;
    return this.info;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}

const replicaProcess = (configPath: string) =>
  new ServerProcess<ReplicaInfo>(resolve(import.meta.dirname, 'rollout/control-plane-process.ts'), [
    configPath,
  ]);
type Replica = ReturnType<typeof replicaProcess>;

type ShardLine = { connected?: number; versions?: Record<string, number>; failed?: number; sent?: number };

class Shard extends ShardProcess<ShardLine> {
  connected = false;
  versions: Record<string, number> = {};
  failed = 0;
  sent = 0;

  constructor(specPath: string) {
    super(resolve(import.meta.dirname, 'fleet/fleet-shard.ts'), specPath);
  }

  protected onLine(line: ShardLine): void {
    if (line.connected !== undefined) this.connected = true;
    if (line.versions) this.versions = line.versions;
    if (line.failed !== undefined) this.failed = line.failed;
    if (line.sent !== undefined) this.sent = line.sent;
  }
}

/** Seconds of predictions without page reads, to measure the fleet's steady cost. */
const QUIET_SECONDS = 15;

/** This process's soft limit on open files (Linux), or null when it cannot be read. */
function openFileLimit(): number | null {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft && /^\d+$/.test(soft) ? Number(soft) : null;
  } catch {
    return null;
  }
}

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const round = (n: number | null, digits = 1) =>
  n === null ? null : Math.round(n * 10 ** digits) / 10 ** digits;

export async function benchMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      devices: { type: 'string', default: '10000' },
      replicas: { type: 'string', default: '2' },
      store: { type: 'string' },
      broker: { type: 'string' },
      objects: { type: 'string', default: 's3' },
      'ingest-seconds': { type: 'string', default: '60' },
      'predictions-per-minute': { type: 'string', default: '6' },
      shards: { type: 'string' },
      'model-bytes': { type: 'string', default: '200000' },
      state: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const deviceCount = Number(values.devices);
  const shardCount = Math.max(1, Number(values.shards ?? Math.max(2, Math.ceil(deviceCount / 2_500))));
  // A device shard holds about three descriptors per device while its fleet installs at once (MQTT,
  // HTTP, the S3 download) and the S3 server one per device. When one process served the S3
  // downloads and balanced the devices' HTTP, 10,000 devices ran out at a limit of 20,000 half-way
  // through their first install; fail now rather than then.
  const openFiles = openFileLimit();
  const needed = Math.max(Math.ceil(deviceCount / shardCount) * 3, deviceCount + 1_000);
  if (openFiles !== null && openFiles < needed)
    throw new Error(
      `open-file limit ${openFiles} is too low for ${deviceCount} devices in ${shardCount} shards ` +
        `(about ${needed} per process): raise it (\`ulimit -n ${needed}\`) or pass more --shards`,
    );
  const replicaCount = Math.max(1, Number(values.replicas));
  const brokerKind = values.broker ?? (replicaCount > 1 ? 'mosquitto' : 'embedded');
  if (brokerKind === 'embedded' && replicaCount > 1)
    throw new Error('several replicas need a shared broker: --broker mosquitto');
  // Several replicas share a database server, as a site runs them: Postgres. Two processes on one
  // SQLite file refuse each other's writes under load ("database is locked" while enrolling).
  const storeKind = values.store ?? (replicaCount > 1 ? 'postgres' : 'sqlite');
  if (storeKind !== 'postgres' && storeKind !== 'sqlite')
    throw new Error(`--store must be postgres or sqlite, not '${storeKind}'`);
  if (storeKind === 'sqlite' && replicaCount > 1)
    throw new Error('several replicas need a shared database server: --store postgres (or --replicas 1)');
  const ingestSeconds = Number(values['ingest-seconds']);
  const perMinute = Number(values['predictions-per-minute']);
  const log = (msg: string) => values.json || process.stderr.write(`${msg}\n`);
  // Devices' state on tmpfs: thousands of devices would each have a disk of their own.
  // --state keeps the enrolled fleet (database, broker identities, device folders) for the next
  // run: enrolling 10,000 devices through Mosquitto's dynamic security takes most of an hour.
  const stateDir = values.state ? resolve(values.state) : null;
  const root =
    stateDir ??
    (await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'edgeloop-bench-fleet-')));
  if (stateDir) await mkdir(stateDir, { recursive: true });
  const fleetFile = join(root, 'fleet.json');
  const saved: SavedFleet | null =
    stateDir && existsSync(fleetFile) ? JSON.parse(await readFile(fleetFile, 'utf8')) : null;
  if (
    saved &&
    ((!saved.enrolling && saved.devices.length !== deviceCount) ||
      saved.broker !== brokerKind ||
      saved.store !== storeKind)
  )
    throw new Error(
      `--state ${stateDir} holds ${saved.devices.length} devices on ${saved.store} + ${saved.broker}: use another folder`,
    );
  const replicas: Replica[] = [];
  const shards: Shard[] = [];
  let broker: Mosquitto | null = null;
  let postgres: PostgresCluster | null = null;
  let postgresSampler: NodeJS.Timeout | null = null;
  let s3: ServerProcess<Extract<ObjectStoreConfig, { type: 's3' }>> | null = null;
  let balancer: TcpBalancer | null = null;
  try {
    if (brokerKind === 'mosquitto')
      broker = await startMosquitto(stateDir ? { dir: join(root, 'mosquitto') } : {});
    if (storeKind === 'postgres')
      postgres = await startPostgres(stateDir ? { dir: join(root, 'postgres') } : {});
    if (values.objects === 's3') {
      s3 = new ServerProcess(resolve(import.meta.dirname, 'support/s3-process.ts'), [
        'edgeloop-bench',
        ...(stateDir ? [join(root, 's3')] : []),
      ]);
      await s3.start();
    }
    for (let r = 0; r < replicaCount; r++) {
      const config: ControlPlaneConfigInput = {
        dataDir: join(root, 'control-plane'),
        ...(postgres ? { store: { type: 'postgres' as const, url: postgres.url } } : {}),
        http: { host: '127.0.0.1', port: await freePort() },
        mqtt: broker
          ? {
              external: {
                url: broker.url,
                username: broker.service.username,
                password: broker.service.password,
                identities: 'mosquitto-dynsec',
              },
            }
          : { host: '127.0.0.1', port: 0 },
        ...(s3 ? { objectStore: s3.info! } : {}),
        ...(replicaCount > 1 ? { cluster: { enabled: true, replicaId: `cp-${r}`, leaseSeconds: 10 } } : {}),
        // The whole fleet enrolls from one address here.
        rateLimits: {
          addressBurst: 1_000_000,
          addressPerMinute: 1_000_000,
          identityBurst: 1_000_000,
          identityPerMinute: 1_000_000,
        },
        logLevel: 'warn',
      };
      const configPath = join(root, `replica-${r}.json`);
      await writeFile(configPath, JSON.stringify(config));
      replicas.push(replicaProcess(configPath));
      // The first makes the database and keys; the others join them.
      await replicas[r].start();
    }
    const first = replicas[0].info!;
    balancer = await startTcpBalancer(
      replicas.map((r) => {
        const url = new URL(r.info!.httpUrl);
        return { host: url.hostname, port: Number(url.port) };
      }),
    );
    const httpUrl = balancer.url;
    const api = new ApiClient(httpUrl, first.adminToken);
    const modelOf = (variant: number) =>
      buildTinyClassifier({
        width: 32,
        height: 32,
        weights: [
          [0.005, -0.005],
          [0, 0],
          [-0.005, 0.005],
        ],
        bias: [variant / 1000, 0],
        padBytes: Number(values['model-bytes']),
      });
    const publish = async (version: number) => {
      const model = modelOf(version);
      await api.publishModel(
        testManifest(model, { modelVersion: version, name: `bench-fleet-v${version}` }),
        new Map([['model.onnx', model]]),
      );
    };
    // A fresh fleet runs version 1 and is rolled out to 2. A kept one is brought to the newest
    // version published (an earlier run that stopped mid-rollout left part of it there, and a
    // device refuses to go back to an older version unless a rollback says so), then rolled out to
    // the next, published only then (so a run that stops before its rollout leaves nothing newer).
    const newest = saved
      ? Math.max(saved.version, ...(await api.listModels()).map((m) => m.modelVersion))
      : 0;
    const baseVersion = saved ? newest : 1;
    const nextVersion = baseVersion + 1;
    if (!saved) await publish(baseVersion);
    // A rollout an earlier run left live holds its devices: end it first.
    for (const r of await api.listRollouts())
      if (r.state === 'running' || r.state === 'paused')
        await api.rolloutAction(r.rolloutId, 'abort', 'an earlier bench run stopped mid-rollout');
    await api.assign(baseVersion, { all: true });

    const setupStart = Date.now();
    const ids = Array.from({ length: deviceCount }, (_, i) => `sim-${String(i).padStart(5, '0')}`);
    const enrolled: { deviceId: string; secret: string }[] = [...(saved?.devices ?? [])];
    /** --state: the enrolled fleet and the version every device runs now (writes one at a time). */
    let saving = Promise.resolve();
    const saveFleet = (version: number, enrolling = false) => {
      if (!stateDir) return saving;
      const fleet: SavedFleet = {
        devices: enrolled,
        broker: brokerKind,
        store: storeKind,
        version,
        enrolling,
      };
      saving = saving.then(() => writeFile(fleetFile, JSON.stringify(fleet), { mode: 0o600 }));
      return saving;
    };
    const have = new Set(enrolled.map((d) => d.deviceId));
    const missing = ids.filter((id) => !have.has(id));
    if (missing.length > 0) {
      await enrollAll(missing);
      await saveFleet(baseVersion);
    }
    async function enrollAll(ids: string[]) {
      // An enrolment the broker did not confirm in time is retried: the device exists by then
      // (re-enrolment) and spends another use.
      const { token } = await api.createEnrollmentToken({ uses: deviceCount * 2, reenroll: true });
      log(`enrolling ${ids.length} devices…`);
      return mapLimit(ids, 8, async (deviceId) => {
        for (;;) {
          const res = await fetch(`${httpUrl}${routeUrl(apiRoutes.enrollDevice)}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ protocol: PROTOCOL_VERSION, token, deviceId }),
          });
          // The enrollment budget is spent (429), or the broker did not confirm the device's
          // identity in time (502/503): wait and enrol again, like an agent does.
          if (res.status === 429 || res.status === 502 || res.status === 503) {
            await res.arrayBuffer();
            await new Promise((r) => setTimeout(r, 1000 * Number(res.headers.get('retry-after') ?? 1)));
            continue;
          }
          if (res.status !== 201) throw new Error(`enroll ${deviceId}: ${res.status} ${await res.text()}`);
          const { secret } = EnrollResponseSchema.parse(await res.json());
          enrolled.push({ deviceId, secret });
          // Kept as it goes: a long enrolment stopped part-way resumes where it was.
          if (enrolled.length % 100 === 0) await saveFleet(baseVersion, true);
          return { deviceId, secret };
        }
      });
    }
    log(`connecting them in ${shardCount} processes…`);
    for (let s = 0; s < shardCount; s++) {
      const spec: FleetShardSpec = {
        httpUrls: replicas.map((r) => r.info!.httpUrl),
        // The broker's address of this run (a kept fleet's broker listens on a new port).
        mqttUrl: broker?.url ?? first.mqttUrl,
        trustedKeys: [first.signingPublicKey],
        root: join(root, 'devices'),
        predictionsPerMinute: perMinute,
        devices: enrolled
          .filter((_, i) => i % shardCount === s)
          .map((e) => ({ deviceId: e.deviceId, secret: e.secret })),
      };
      const specPath = join(root, `shard-${s}.json`);
      await writeFile(specPath, JSON.stringify(spec));
      shards.push(new Shard(specPath));
    }
    const sum = (f: (sh: Shard) => number) => shards.reduce((n, sh) => n + f(sh), 0);
    const alive = () => {
      if (!shards.every((sh) => sh.alive())) throw new Error('a device shard exited');
      return true;
    };
    await until(() => alive() && shards.every((sh) => sh.connected), 1_800_000, 'devices to connect');
    const connected = deviceCount;
    await until(
      () => alive() && sum((sh) => sh.versions[String(baseVersion)] ?? 0) === deviceCount,
      // A kept fleet brought forward installs everywhere here: ~25 min for 10,000 on this machine.
      3_600_000,
      `version ${baseVersion} everywhere`,
    );
    const setupSeconds = (Date.now() - setupStart) / 1000;

    // Ingest, with the fleet page read meanwhile.
    log(`ingesting for ${ingestSeconds} s…`);
    const metric = async (name: string) => {
      const text = await (
        await fetch(`${httpUrl}/metrics`, { headers: { authorization: `Bearer ${first.adminToken}` } })
      ).text();
      const line = text.split('\n').find((l) => l.startsWith(`${name} `));
      return line ? Number(line.split(' ')[1]) : Number.NaN;
    };
    /** Device messages each replica dropped (its own counter, every reason), summed. */
    const droppedOf = async () => {
      let total = 0;
      for (const r of replicas) {
        const text = await (
          await fetch(`${r.info!.httpUrl}/metrics`, {
            headers: { authorization: `Bearer ${first.adminToken}` },
          })
        ).text();
        for (const l of text.split('\n'))
          if (l.startsWith('edgeloop_ingest_dropped_total')) total += Number(l.split(' ').at(-1));
      }
      return total;
    };
    const droppedBefore = await droppedOf();
    const storedBefore = await metric('edgeloop_predictions_stored');
    const sentBefore = sum((sh) => sh.sent);
    const cpuOf = () => replicas.map((r) => cpuSeconds(r.child?.pid) ?? 0).reduce((a, b) => a + b, 0);
    // Postgres: the postmaster and its backends, CPU and memory (sampled: backends come and go).
    const postgresPid = postgres ? await postgres.pid() : null;
    const postgresCpuOf = () => treeCpuSeconds(postgresPid) ?? 0;
    let postgresPeakMb: number | null = treePssMb(postgresPid);
    postgresSampler = setInterval(() => {
      postgresPeakMb = Math.max(postgresPeakMb ?? 0, treePssMb(postgresPid) ?? 0);
    }, 1_000);
    const ingestCpuBefore = cpuOf();
    const ingestPostgresCpuBefore = postgresCpuOf();
    for (const sh of shards) sh.send({ predict: true });
    const ingestStart = Date.now();
    const fleetMs: number[] = [];
    const fleetQueries = [
      'page=0&pageSize=50',
      'sort=lastSeenAt&dir=desc&pageSize=100',
      'q=sim-01',
      'status=online&page=3',
    ];
    while (Date.now() - ingestStart < ingestSeconds * 1000) {
      const t = performance.now();
      const res = await fetch(
        `${httpUrl}${routeUrl(apiRoutes.getFleet)}?${fleetQueries[fleetMs.length % fleetQueries.length]}`,
        {
          headers: { authorization: `Bearer ${first.adminToken}` },
        },
      );
      await res.arrayBuffer();
      if (res.ok) fleetMs.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 200));
    }
    const ingestElapsed = (Date.now() - ingestStart) / 1000;
    const ingestCpu = cpuOf() - ingestCpuBefore;
    const ingestPostgresCpu = postgresCpuOf() - ingestPostgresCpuBefore;
    const ingestSent = sum((sh) => sh.sent) - sentBefore;

    // The fleet's steady cost (predictions, status, housekeeping) without page reads: what the
    // control plane would spend over the rollout's seconds anyway, taken out of its per-update figure.
    const quietCpuBefore = cpuOf();
    const quietPostgresCpuBefore = postgresCpuOf();
    const quietStart = Date.now();
    await new Promise((r) => setTimeout(r, QUIET_SECONDS * 1000));
    const quietElapsed = (Date.now() - quietStart) / 1000;
    const steadyCpuPerSec = (cpuOf() - quietCpuBefore) / quietElapsed;
    const steadyPostgresCpuPerSec = (postgresCpuOf() - quietPostgresCpuBefore) / quietElapsed;

    // Devices keep classifying through the rollout: its health gates judge the new version on them.
    log(`rolling out version ${nextVersion}…`);
    await publish(nextVersion);
    const rolloutCpuBefore = cpuOf();
    const rolloutPostgresCpuBefore = postgresCpuOf();
    const t0 = Date.now();
    const rollout = await api.createRollout({
      modelVersion: nextVersion,
      target: { all: true },
      strategy: {
        waves: [{ devices: 1 }, { percent: 10 }, { percent: 100 }],
        // The machinery's own speed, not a pacing choice (the default notifies 100 a minute).
        maxNotifiedPerMinute: 1_000_000,
        soakSeconds: 0,
        deviceTimeoutSeconds: 600,
        gates: { minPredictions: 3 },
      },
    });
    await until(
      () => alive() && sum((sh) => (sh.versions[String(nextVersion)] ?? 0) + sh.failed) >= deviceCount,
      3_600_000,
      `every device on version ${nextVersion}`,
    );
    const secondsToAllActive = (Date.now() - t0) / 1000;
    // Every device active is not the rollout's end: the leader still soaks and gates the last
    // wave. Watched from now on (bounded); a rollout still running then is reported as such.
    const completion = until(
      async () => (await api.getRollout(rollout.rolloutId)).state !== 'running',
      120_000,
      'the rollout to finish',
    ).then(
      () => (Date.now() - t0) / 1000,
      () => null,
    );
    await saveFleet(nextVersion);
    const rolloutCpu = cpuOf() - rolloutCpuBefore;
    const rolloutPostgresCpu = postgresCpuOf() - rolloutPostgresCpuBefore;
    for (const sh of shards) sh.send({ predict: false });
    // Every prediction sent since ingest began must be stored, once: give the last ones time.
    await new Promise((r) => setTimeout(r, 2_000));
    const messagesSent = sum((sh) => sh.sent) - sentBefore;
    let messagesStored = 0;
    await until(
      async () => {
        messagesStored = (await metric('edgeloop_predictions_stored')) - storedBefore;
        return messagesStored >= messagesSent;
      },
      30_000,
      'predictions stored',
    ).catch(() => {});
    // The rollout's end, measured from the same start (the watch began when every device was active).
    const secondsToRolloutCompleted = await completion;
    const final = await api.getRollout(rollout.rolloutId);
    fleetMs.sort((a, b) => a - b);
    const peak: Record<string, number | null> = {};
    replicas.forEach((r, i) => {
      peak[`controlPlane${i}`] = peakRssMb(r.child?.pid);
    });
    shards.forEach((sh, i) => {
      peak[`deviceShard${i}`] = peakRssMb(sh.child.pid);
    });
    if (broker) peak.mosquitto = peakRssMb(broker.pid());
    if (postgres) peak.postgres = postgresPeakMb;
    peak.bench = peakRssMb(process.pid);
    const result = {
      devices: deviceCount,
      connected,
      replicas: replicaCount,
      store: storeKind,
      broker: brokerKind,
      objects: values.objects,
      ingestSeconds: round(ingestElapsed),
      predictionsPerDevicePerMinute: perMinute,
      ingestMessagesPerSec: round(ingestSent / ingestElapsed),
      messagesSent,
      messagesStored,
      messagesDropped: (await droppedOf()) - droppedBefore,
      fleetApiRequests: fleetMs.length,
      fleetApiP50Ms: round(percentile(fleetMs, 50)),
      fleetApiP99Ms: round(percentile(fleetMs, 99)),
      secondsToAllActive: round(secondsToAllActive, 2),
      secondsToRolloutCompleted:
        secondsToRolloutCompleted === null ? null : round(secondsToRolloutCompleted, 2),
      rolloutState: final.state,
      rolloutCounts: final.counts,
      failed: sum((sh) => sh.failed),
      // What the rollout added: its CPU minus the fleet's steady cost over the same seconds.
      controlPlaneCpuMsPerDeviceUpdate: round(
        (Math.max(0, rolloutCpu - steadyCpuPerSec * secondsToAllActive) * 1000) / deviceCount,
        2,
      ),
      // All of it, the devices' predictions during the rollout included.
      controlPlaneCpuMsPerDeviceUpdateGross: round((rolloutCpu * 1000) / deviceCount, 2),
      controlPlaneSteadyCpuPercent: round(steadyCpuPerSec * 100),
      // CPU of the ingest window over the messages sent in that window (the fleet page reads included).
      controlPlaneCpuMsPerMessage: round((ingestCpu * 1000) / Math.max(1, ingestSent), 3),
      postgresCpuMsPerDeviceUpdate: postgres
        ? round(
            (Math.max(0, rolloutPostgresCpu - steadyPostgresCpuPerSec * secondsToAllActive) * 1000) /
              deviceCount,
            2,
          )
        : null,
      postgresCpuMsPerDeviceUpdateGross: postgres
        ? round((rolloutPostgresCpu * 1000) / deviceCount, 2)
        : null,
      postgresCpuMsPerMessage: postgres
        ? round((ingestPostgresCpu * 1000) / Math.max(1, ingestSent), 3)
        : null,
      peakRssMb: peak,
      setupSeconds: round(setupSeconds),
      modelBytes: modelOf(2).byteLength,
      deviceProcesses: shardCount,
      loadAverage1m: round(loadavg()[0]),
    };
    process.stdout.write(
      values.json ? `${JSON.stringify(result)}\n` : `${JSON.stringify(result, null, 2)}\n`,
    );
    return result.failed === 0 && messagesStored === messagesSent ? 0 : 1;
  } finally {
    await Promise.allSettled(shards.map((sh) => sh.stop()));
    if (postgresSampler) clearInterval(postgresSampler);
    await Promise.allSettled(replicas.map((r) => r.stop()));
    await balancer?.close();
    await broker?.remove();
    await s3?.stop();
    await postgres?.stop();
    if (!stateDir) await rm(root, { recursive: true, force: true });
  }
}
