/**
 * Two control-plane replicas as a site runs them past one machine: separate processes sharing one
 * Postgres and a Mosquitto with dynamic security, behind a round-robin load balancer, with real
 * agents enrolled through the balancer. Shows the faults that matter: the leader killed with
 * SIGKILL in the middle of a rollout (the other replica takes over and completes it), and the
 * broker restarted in the middle of one (every device converges); and that failed credential
 * checks spend one budget across the replicas.
 */
import type { Rollout } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testManifest } from '../helpers/manifest-fixture.ts';
import { type ReplicaCluster, startReplicaCluster } from '../helpers/replica-cluster.ts';
import { fleetModel, waitUntil } from '../integration/rollouts/fleet.ts';

const DEVICES = ['cam-00', 'cam-01', 'cam-02'];

let cluster: ReplicaCluster;

async function publish(version: number): Promise<void> {
  const model = fleetModel('confident', version);
  await cluster.api.publishModel(
    testManifest(model, { modelVersion: version, name: `fleet-v${version}` }),
    new Map([['model.onnx', model]]),
  );
}

async function allOn(version: number, timeoutMs = 60_000): Promise<void> {
  let seen: unknown = null;
  await waitUntil(
    async () => {
      const devices = await cluster.api.listDevices().catch(() => []);
      seen = devices.map((d) => [d.deviceId, d.online, d.desiredVersion, d.reportedVersion]);
      return devices.length === DEVICES.length && devices.every((d) => d.reportedVersion === version);
    },
    `every device on version ${version}`,
    timeoutMs,
  ).catch((err) => {
    throw new Error(`${err.message}; devices: ${JSON.stringify(seen)}\n${cluster.trouble()}`);
  });
}

async function rolloutUntil(id: string, done: (r: Rollout) => boolean, what: string): Promise<Rollout> {
  return waitUntil(
    async () => {
      const r = await cluster.api.getRollout(id).catch(() => null);
      return r && done(r) ? r : null;
    },
    what,
    90_000,
  );
}

beforeAll(async () => {
  cluster = await startReplicaCluster({ replicaIds: ['cp-a', 'cp-b'], leaseSeconds: 2 });
  await cluster.startAgents(DEVICES);
  await publish(1);
  await cluster.api.assign(1, { all: true });
  await allOn(1);
}, 240_000);

afterAll(async () => {
  await cluster?.close();
});

const strategy = {
  waves: [{ devices: 1 }, { percent: 100 }],
  soakSeconds: 4,
  deviceTimeoutSeconds: 60,
  gates: { minPredictions: 5 },
};

describe('two control-plane replicas behind a load balancer', () => {
  it('elects exactly one leader and serves the API from both', async () => {
    const { replicas, health } = cluster;
    const first = await cluster.leader();
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
      const replica = cluster.replicas[i % cluster.replicas.length];
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
    const { api, replicas } = cluster;
    const created = await api.createRollout({ modelVersion: 2, target: { all: true }, strategy });
    // The canary is on version 2 and its wave soaking: the leader dies now.
    await rolloutUntil(created.rolloutId, (r) => r.counts.active === 1, 'the canary on version 2');
    const dead = await cluster.leader();
    await dead.process!.kill('SIGKILL');
    dead.process = null;
    const survivor = replicas.find((r) => r !== dead)!;
    const next = await cluster.leader();
    expect(next).toBe(survivor);
    const done = await rolloutUntil(created.rolloutId, (r) => r.state !== 'running', 'the rollout to end');
    expect(done.state).toBe('completed');
    expect(done.counts).toEqual({ active: DEVICES.length });
    await allOn(2);
    // The killed replica comes back as a follower: the lease stays where it is.
    await cluster.startReplica(dead);
    expect((await cluster.health(dead))?.replica?.leader).toBe(false);
  }, 180_000);

  it('converges every device when Mosquitto restarts in the middle of a rollout', async () => {
    await publish(3);
    const { api, broker } = cluster;
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
