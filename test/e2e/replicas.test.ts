/**
 * Two control-plane replicas as a site runs them past one machine: separate processes sharing one
 * Postgres and a Mosquitto with dynamic security, behind a round-robin load balancer, with real
 * agents enrolled through the balancer. Shows the faults that matter: the leader killed with
 * SIGKILL in the middle of a rollout (the other replica takes over and completes it), and the
 * broker restarted in the middle of one (every device converges).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Agent, startAgent } from '@edgeloop/agent';
import { AgentConfigSchema, ApiClient, createLogger, type Rollout } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.ts';
import { JsonLogProcess } from '../helpers/json-log-process.ts';
import { testManifest } from '../helpers/manifest-fixture.ts';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.ts';
import { type PostgresCluster, startPostgres } from '../helpers/postgres-cluster.ts';
import { startTcpBalancer, type TcpBalancer } from '../helpers/tcp-balancer.ts';
import { fleetModel, waitUntil } from '../integration/rollouts/fleet.ts';

const CLI = resolve(import.meta.dirname, '../../cli/edgeloop.mjs');
const LEASE_SECONDS = 2;
const DEVICES = ['cam-00', 'cam-01', 'cam-02'];

interface Replica {
  id: string;
  port: number;
  process: JsonLogProcess | null;
}

let broker: Mosquitto;
let postgres: PostgresCluster;
let dir: string;
let balancer: TcpBalancer;
let api: ApiClient;
const replicas: Replica[] = [];
const agents: Agent[] = [];

async function startReplica(replica: Replica): Promise<void> {
  const configFile = join(dir, `${replica.id}.json`);
  writeFileSync(
    configFile,
    JSON.stringify({
      dataDir: join(dir, 'control-plane'),
      store: { type: 'postgres', url: postgres.url },
      http: { host: '127.0.0.1', port: replica.port },
      mqtt: {
        external: {
          url: broker.url,
          username: broker.service.username,
          password: broker.service.password,
          identities: 'mosquitto-dynsec',
        },
      },
      cluster: { enabled: true, replicaId: replica.id, leaseSeconds: LEASE_SECONDS },
      rollouts: { tickMs: 100 },
      logLevel: 'info',
    }),
  );
  const child = new JsonLogProcess(process.execPath, [CLI, 'control-plane', '--config', configFile]);
  replica.process = child;
  await child.waitFor((l) => l.msg === 'control plane started', `${replica.id} to start`, 60_000);
}

async function health(replica: Replica): Promise<{ replica?: { id: string; leader: boolean } } | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${replica.port}/api/v1/health`);
    return (await res.json()) as { replica?: { id: string; leader: boolean } };
  } catch {
    return null;
  }
}

async function leader(): Promise<Replica> {
  return waitUntil(
    async () => {
      for (const r of replicas) if (r.process && (await health(r))?.replica?.leader) return r;
      return null;
    },
    'a leader',
    30_000,
  );
}

async function publish(version: number): Promise<void> {
  const model = fleetModel('confident', version);
  await api.publishModel(
    testManifest(model, { modelVersion: version, name: `fleet-v${version}` }),
    new Map([['model.onnx', model]]),
  );
}

/** Warnings and errors the replicas logged, to say why a wait failed. */
function replicaTrouble(): string {
  return replicas
    .flatMap((r) =>
      (r.process?.lines ?? [])
        .filter((l) => typeof l.level === 'number' && l.level >= 40)
        .map((l) => `${r.id}: ${JSON.stringify(l)}`),
    )
    .slice(-20)
    .join('\n');
}

async function allOn(version: number, timeoutMs = 60_000): Promise<void> {
  let seen: unknown = null;
  await waitUntil(
    async () => {
      const devices = await api.listDevices().catch(() => []);
      seen = devices.map((d) => [d.deviceId, d.online, d.desiredVersion, d.reportedVersion]);
      return devices.length === DEVICES.length && devices.every((d) => d.reportedVersion === version);
    },
    `every device on version ${version}`,
    timeoutMs,
  ).catch((err) => {
    throw new Error(`${err.message}; devices: ${JSON.stringify(seen)}\n${replicaTrouble()}`);
  });
}

async function rolloutUntil(id: string, done: (r: Rollout) => boolean, what: string): Promise<Rollout> {
  return waitUntil(
    async () => {
      const r = await api.getRollout(id).catch(() => null);
      return r && done(r) ? r : null;
    },
    what,
    90_000,
  );
}

beforeAll(async () => {
  broker = await startMosquitto();
  postgres = await startPostgres();
  dir = mkdtempSync(join(tmpdir(), 'edgeloop-replicas-'));
  for (const id of ['cp-a', 'cp-b']) replicas.push({ id, port: await freePort(), process: null });
  // The first start makes the database and the keys; the second joins them.
  await startReplica(replicas[0]);
  await startReplica(replicas[1]);
  balancer = await startTcpBalancer(replicas.map((r) => ({ host: '127.0.0.1', port: r.port })));
  const adminToken = readFileSync(join(dir, 'control-plane', 'admin-token'), 'utf8').trim();
  api = new ApiClient(balancer.url, adminToken);
  const signing = JSON.parse(readFileSync(join(dir, 'control-plane', 'signing-key.json'), 'utf8'));
  const { token } = (await (
    await fetch(`${balancer.url}/api/v1/enrollment-tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ protocol: 1, uses: DEVICES.length, group: 'default' }),
    })
  ).json()) as { token: string };
  for (const [i, deviceId] of DEVICES.entries()) {
    const config = AgentConfigSchema.parse({
      controlPlaneUrl: balancer.url,
      dataDir: join(dir, 'agents', deviceId),
      enrollmentToken: token,
      deviceId,
      trustedKeys: [{ keyId: signing.keyId, publicKeyPem: signing.publicKeyPem }],
      camera: { type: 'synthetic', width: 48, height: 48, fps: 8, seed: i + 1 },
      reportIntervalMs: 300,
      logLevel: 'silent',
    });
    agents.push(
      await startAgent(config, {
        logger: createLogger({ level: 'silent' }),
        retry: { baseMs: 100, maxMs: 500 },
        httpTimeoutMs: 2_000,
      }),
    );
  }
  await publish(1);
  await api.assign(1, { all: true });
  await allOn(1);
}, 240_000);

afterAll(async () => {
  if (process.env.EDGELOOP_REPLICA_LOGS)
    for (const r of replicas)
      writeFileSync(
        join(process.env.EDGELOOP_REPLICA_LOGS, `${r.id}.log`),
        (r.process?.lines ?? []).map((l) => JSON.stringify(l)).join('\n'),
      );
  for (const agent of agents) await agent.close().catch(() => {});
  for (const r of replicas) await r.process?.kill('SIGTERM').catch(() => {});
  await balancer?.close();
  await broker?.remove();
  await postgres?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const strategy = {
  waves: [{ devices: 1 }, { percent: 100 }],
  soakSeconds: 4,
  deviceTimeoutSeconds: 60,
  gates: { minPredictions: 5 },
};

describe('two control-plane replicas behind a load balancer', () => {
  it('elects exactly one leader and serves the API from both', async () => {
    const first = await leader();
    const states = await Promise.all(replicas.map(health));
    expect(states.filter((s) => s?.replica?.leader)).toHaveLength(1);
    expect(states.map((s) => s?.replica?.id).sort()).toEqual(['cp-a', 'cp-b']);
    expect(first.process).not.toBeNull();
  });

  it('counts failed credential checks once across replicas, not once per replica', async () => {
    // Attempts alternate between the replicas; the per-identity budget (10 by default) is shared
    // through the database, so the eleventh wrong attempt is refused whichever replica it reaches
    // (each replica alone has seen only five or six).
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      const replica = replicas[i % replicas.length];
      const res = await fetch(`http://127.0.0.1:${replica.port}/api/v1/devices/enroll`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ protocol: 1, token: 'not-a-token-anybody-issued', deviceId: `intruder-${i}` }),
      });
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(statuses[10]).toBe(429);
  });

  it('completes a rollout when the leader is killed with SIGKILL in the middle of it', async () => {
    await publish(2);
    const created = await api.createRollout({ modelVersion: 2, target: { all: true }, strategy });
    // The canary is on version 2 and its wave soaking: the leader dies now.
    await rolloutUntil(created.rolloutId, (r) => r.counts.active === 1, 'the canary on version 2');
    const dead = await leader();
    await dead.process!.kill('SIGKILL');
    dead.process = null;
    const survivor = replicas.find((r) => r !== dead)!;
    const next = await leader();
    expect(next).toBe(survivor);
    const done = await rolloutUntil(created.rolloutId, (r) => r.state !== 'running', 'the rollout to end');
    expect(done.state).toBe('completed');
    expect(done.counts).toEqual({ active: DEVICES.length });
    await allOn(2);
    // The killed replica comes back as a follower: the lease stays where it is.
    await startReplica(dead);
    expect((await health(dead))?.replica?.leader).toBe(false);
  }, 180_000);

  it('converges every device when Mosquitto restarts in the middle of a rollout', async () => {
    await publish(3);
    const created = await api.createRollout({ modelVersion: 3, target: { all: true }, strategy });
    await rolloutUntil(created.rolloutId, (r) => r.counts.active === 1, 'the canary on version 3');
    // Retained desired states go with the broker (no persistence): the leader publishes them again.
    await broker.stop();
    await broker.start();
    const done = await rolloutUntil(created.rolloutId, (r) => r.state !== 'running', 'the rollout to end');
    expect(done.state, JSON.stringify({ reason: done.reason, devices: done.devices })).toBe('completed');
    await allOn(3);
  }, 180_000);
});
