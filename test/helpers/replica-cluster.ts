/**
 * Control-plane replicas as a site runs them past one machine: separate `edgeloop control-plane`
 * processes sharing one Postgres and a Mosquitto with dynamic security, behind a round-robin load
 * balancer, with real agents (in this process) enrolled through the balancer. The replica tests
 * (test/e2e/replicas.test.ts, test/faults/postgres-restart.test.ts) build on it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Agent, startAgent } from '@edgeloop/agent';
import {
  type AgentConfigInput,
  AgentConfigSchema,
  ApiClient,
  createLogger,
  type TrustedKey,
} from '@edgeloop/shared';
import { waitUntil } from '../integration/rollouts/fleet.ts';
import { freePort } from './free-port.ts';
import { JsonLogProcess } from './json-log-process.ts';
import { type Mosquitto, startMosquitto } from './mosquitto.ts';
import { type PostgresCluster, startPostgres } from './postgres-cluster.ts';
import { startTcpBalancer, type TcpBalancer } from './tcp-balancer.ts';

const CLI = resolve(import.meta.dirname, '../../cli/edgeloop.mjs');

export interface Replica {
  id: string;
  port: number;
  process: JsonLogProcess | null;
}

export interface ReplicaHealth {
  replica?: { id: string; leader: boolean };
}

export interface ReplicaCluster {
  broker: Mosquitto;
  postgres: PostgresCluster;
  dir: string;
  replicas: Replica[];
  balancer: TcpBalancer;
  /** The admin's client, through the balancer. */
  api: ApiClient;
  adminToken: string;
  signing: TrustedKey;
  agents: Agent[];
  startReplica(replica: Replica): Promise<void>;
  /** A replica's /health answer, or null when it does not answer. */
  health(replica: Replica): Promise<ReplicaHealth | null>;
  /** The replica that says it leads (waits for one). */
  leader(timeoutMs?: number): Promise<Replica>;
  /**
   * Enrolls and starts agents through the balancer (synthetic cameras, seeded by position);
   * `extra(index)` is laid over each one's config.
   */
  startAgents(
    deviceIds: readonly string[],
    extra?: (index: number) => Partial<AgentConfigInput>,
  ): Promise<Agent[]>;
  /** Warnings and errors the replicas logged, to say why a wait failed. */
  trouble(): string;
  close(): Promise<void>;
}

export async function startReplicaCluster(options: {
  replicaIds: readonly string[];
  leaseSeconds: number;
}): Promise<ReplicaCluster> {
  const broker = await startMosquitto();
  const postgres = await startPostgres();
  const dir = mkdtempSync(join(tmpdir(), 'edgeloop-replicas-'));
  const replicas: Replica[] = [];
  for (const id of options.replicaIds) replicas.push({ id, port: await freePort(), process: null });
  const agents: Agent[] = [];
  let balancer: TcpBalancer | null = null;

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
        cluster: { enabled: true, replicaId: replica.id, leaseSeconds: options.leaseSeconds },
        rollouts: { tickMs: 100 },
        logLevel: 'info',
      }),
    );
    const child = new JsonLogProcess(process.execPath, [CLI, 'control-plane', '--config', configFile]);
    replica.process = child;
    await child.waitFor((l) => l.msg === 'control plane started', `${replica.id} to start`, 60_000);
  }

  async function health(replica: Replica): Promise<ReplicaHealth | null> {
    try {
      const res = await fetch(`http://127.0.0.1:${replica.port}/api/v1/health`);
      return (await res.json()) as ReplicaHealth;
    } catch {
      return null;
    }
  }

  const close = async () => {
    if (process.env.EDGELOOP_REPLICA_LOGS)
      for (const r of replicas)
        writeFileSync(
          join(process.env.EDGELOOP_REPLICA_LOGS, `${r.id}.log`),
          (r.process?.lines ?? []).map((l) => JSON.stringify(l)).join('\n'),
        );
    for (const agent of agents) await agent.close().catch(() => {});
    // A replica that cannot finish a graceful stop (its database gone) is killed after a while.
    for (const r of replicas) {
      const stopping = r.process?.kill('SIGTERM').catch(() => {});
      const late = setTimeout(() => r.process?.kill('SIGKILL').catch(() => {}), 15_000);
      await stopping;
      clearTimeout(late);
    }
    await balancer?.close();
    await broker.remove();
    await postgres.stop();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    // The first start makes the database and the keys; the others join them.
    for (const replica of replicas) await startReplica(replica);
    balancer = await startTcpBalancer(replicas.map((r) => ({ host: '127.0.0.1', port: r.port })));
    const adminToken = readFileSync(join(dir, 'control-plane', 'admin-token'), 'utf8').trim();
    const api = new ApiClient(balancer.url, adminToken);
    const signingFile = JSON.parse(readFileSync(join(dir, 'control-plane', 'signing-key.json'), 'utf8'));
    const signing: TrustedKey = { keyId: signingFile.keyId, publicKeyPem: signingFile.publicKeyPem };
    const url = balancer.url;
    return {
      broker,
      postgres,
      dir,
      replicas,
      balancer,
      api,
      adminToken,
      signing,
      agents,
      startReplica,
      health,
      leader: (timeoutMs = 30_000) =>
        waitUntil(
          async () => {
            for (const r of replicas) if (r.process && (await health(r))?.replica?.leader) return r;
            return null;
          },
          'a leader',
          timeoutMs,
        ),
      async startAgents(deviceIds, extra = () => ({})) {
        const { token } = await api.createEnrollmentToken({ uses: deviceIds.length, group: 'default' });
        const started: Agent[] = [];
        for (const [i, deviceId] of deviceIds.entries()) {
          const config = AgentConfigSchema.parse({
            controlPlaneUrl: url,
            dataDir: join(dir, 'agents', deviceId),
            enrollmentToken: token,
            deviceId,
            trustedKeys: [signing],
            camera: { type: 'synthetic', width: 48, height: 48, fps: 8, seed: i + 1 },
            reportIntervalMs: 300,
            logLevel: 'silent',
            ...extra(i),
          });
          const agent = await startAgent(config, {
            logger: createLogger({ level: 'silent' }),
            retry: { baseMs: 100, maxMs: 500 },
            // On a busy 2-core machine enrollment (with its broker identity) can take seconds.
            httpTimeoutMs: 10_000,
          });
          agents.push(agent);
          started.push(agent);
        }
        return started;
      },
      trouble: () =>
        replicas
          .flatMap((r) =>
            (r.process?.lines ?? [])
              .filter((l) => typeof l.level === 'number' && l.level >= 40)
              .map((l) => `${r.id}: ${JSON.stringify(l)}`),
          )
          .slice(-20)
          .join('\n'),
      close,
    };
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
}
