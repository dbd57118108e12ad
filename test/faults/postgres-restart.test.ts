/**
 * Postgres restarted under two control-plane replicas while devices upload samples, as a database
 * upgrade or failover does it: the same cluster as test/e2e/replicas.test.ts (replica processes,
 * Mosquitto with dynamic security, a balancer, real agents), with a model unsure of every frame so
 * each agent queues a sample per frame and uploads it while the database goes away.
 *
 * It is restarted twice: as a service restart does (sessions told to end), then as a crash does.
 * While it is down, a request that needs the database is answered at once with 503
 * STORE_UNAVAILABLE (not a hang, not a crash) and the leader steps down when it cannot renew its
 * lease. Once it is back: both replicas answer again (same processes), one leads, every sample
 * an agent queued is acknowledged and stored exactly once, and devices' states keep updating.
 */
import { ApiClient } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testManifest } from '../helpers/manifest-fixture.ts';
import { type ReplicaCluster, startReplicaCluster } from '../helpers/replica-cluster.ts';
import { fleetModel, waitUntil } from '../integration/rollouts/fleet.ts';

const DEVICES = ['cam-pg-1', 'cam-pg-2'];
/** Down for longer than the lease, so the leader must notice and step down. */
const LEASE_SECONDS = 2;
const DOWN_MS = 3_000;

let cluster: ReplicaCluster;
/** `device/idempotencyKey` of every sample an agent queued, and what the upload was answered. */
const queued: string[] = [];
const acknowledged = new Map<string, { sampleId: string; duplicate: boolean }>();

async function devicesOn(version: number, timeoutMs: number): Promise<void> {
  let seen: unknown = null;
  await waitUntil(
    async () => {
      const devices = await cluster.api.listDevices().catch(() => []);
      seen = devices.map((d) => [d.deviceId, d.reportedVersion, d.lastSeenAt]);
      return devices.length === DEVICES.length && devices.every((d) => d.reportedVersion === version);
    },
    `every device reporting version ${version}`,
    timeoutMs,
  ).catch((err) => {
    throw new Error(`${err.message}; devices: ${JSON.stringify(seen)}\n${cluster.trouble()}`);
  });
}

beforeAll(async () => {
  cluster = await startReplicaCluster({ replicaIds: ['cp-a', 'cp-b'], leaseSeconds: LEASE_SECONDS });
  const publish = async (version: number, model: Uint8Array) =>
    cluster.api.publishModel(
      testManifest(model, { modelVersion: version, name: `pg-v${version}` }),
      new Map([['model.onnx', model]]),
    );
  // Version 1 is 50/50 on every frame (each frame a sample); version 2 is sure (none).
  await publish(1, fleetModel('collapsed', 1));
  await publish(2, fleetModel('confident', 2));
  // Each camera its own seed: a frame another device sent already would be stored only once.
  const agents = await cluster.startAgents(DEVICES, (i) => ({
    camera: { type: 'synthetic', width: 32, height: 32, fps: 4, seed: i + 11 },
    samples: { duplicateDistance: -1, maxPerMinute: 600, maxQueued: 1_000 },
  }));
  for (const agent of agents)
    agent.onEvent((e) => {
      if (e.type === 'sample-queued') queued.push(`${agent.deviceId}/${e.idempotencyKey}`);
      if (e.type === 'sample-uploaded')
        acknowledged.set(`${agent.deviceId}/${e.idempotencyKey}`, {
          sampleId: e.sampleId,
          duplicate: e.duplicate,
        });
    });
  // Only now, with every sample heard from the first: no model, no samples.
  await cluster.api.assign(1, { all: true });
  await devicesOn(1, 30_000);
}, 120_000);

afterAll(async () => {
  await cluster?.close();
}, 60_000);

describe('Postgres restarted under two replicas while samples upload', () => {
  it('fails requests fast while down, then reconnects and stores every sample exactly once', async () => {
    const { replicas, postgres } = cluster;
    const pids = replicas.map((r) => r.process?.child.pid);
    const before = acknowledged.size;
    await waitUntil(() => acknowledged.size >= before + 4, 'samples uploading', 20_000);
    const queuedBeforeOutage = queued.length;
    let outage: { status: number; code: unknown; ms: number }[] = [];
    let leadersWhileDown: unknown[] = [];

    await postgres.restart({
      mode: 'fast',
      whileDown: async () => {
        const started = Date.now();
        // Through each replica: a route that reads the database.
        outage = await Promise.all(
          replicas.map(async (r) => {
            const t = Date.now();
            const res = await fetch(`http://127.0.0.1:${r.port}/api/v1/devices`, {
              headers: { authorization: `Bearer ${cluster.adminToken}` },
              signal: AbortSignal.timeout(10_000),
            });
            const body = (await res.json()) as { error?: { code?: string } };
            return { status: res.status, code: body.error?.code, ms: Date.now() - t };
          }),
        );
        // Nobody may lead on a lease it cannot renew.
        leadersWhileDown = await waitUntil(
          async () => {
            const states = await Promise.all(replicas.map(cluster.health));
            return states.every((s) => s?.replica?.leader === false) ? states : null;
          },
          'the leader to step down',
          DOWN_MS + LEASE_SECONDS * 1000,
        );
        await new Promise((r) => setTimeout(r, Math.max(0, DOWN_MS - (Date.now() - started))));
      },
    });

    for (const answer of outage) {
      expect(answer.status).toBe(503);
      expect(answer.code).toBe('STORE_UNAVAILABLE');
      expect(answer.ms).toBeLessThan(5_000);
    }
    expect(leadersWhileDown).toHaveLength(2);

    // The same processes answer again, and one of them leads.
    const leader = await cluster.leader(20_000);
    expect(replicas.map((r) => r.process?.child.pid)).toEqual(pids);
    expect(replicas.every((r) => r.process?.child.exitCode === null)).toBe(true);
    const states = await Promise.all(replicas.map(cluster.health));
    expect(states.map((s) => s?.replica?.id).sort()).toEqual(['cp-a', 'cp-b']);
    expect(states.filter((s) => s?.replica?.leader).map((s) => s?.replica?.id)).toEqual([leader.id]);

    // Requests through each replica work again.
    for (const r of replicas) {
      const api = new ApiClient(`http://127.0.0.1:${r.port}`, cluster.adminToken);
      expect(await api.listDevices()).toHaveLength(DEVICES.length);
    }

    // Then as a crash does it (no goodbye to the sessions), while samples keep coming.
    const beforeCrash = acknowledged.size;
    await waitUntil(() => acknowledged.size >= beforeCrash + 4, 'samples uploading again', 20_000);
    await postgres.restart({ mode: 'immediate' });
    await cluster.leader(20_000);
    expect(replicas.map((r) => r.process?.child.pid)).toEqual(pids);

    // Devices' states keep updating: a sure model stops the samples, and both report it.
    await cluster.api.assign(2, { all: true });
    await devicesOn(2, 30_000);

    // Every sample queued, before, during and after the outage, is acknowledged...
    await waitUntil(
      () => queued.every((k) => acknowledged.has(k)),
      'every queued sample acknowledged',
      30_000,
    ).catch((err) => {
      const missing = queued.filter((k) => !acknowledged.has(k)).length;
      throw new Error(`${err.message}: ${missing} of ${queued.length} not\n${cluster.trouble()}`);
    });
    // ...and stored exactly once: one row per queued key, and no other row.
    const rows = await postgres.query("SELECT device_id || '/' || idempotency_key FROM samples");
    expect(queued.length).toBeGreaterThan(queuedBeforeOutage);
    expect(new Set(queued).size).toBe(queued.length);
    expect(rows.sort()).toEqual([...queued].sort());
    const ids = queued.map((k) => acknowledged.get(k)!.sampleId);
    expect(new Set(ids).size).toBe(ids.length);
    process.stdout.write(
      `postgres restart: ${JSON.stringify({
        samplesQueued: queued.length,
        queuedBeforeOutage: queuedBeforeOutage,
        retriesAnsweredAsDuplicate: [...acknowledged.values()].filter((a) => a.duplicate).length,
        outage,
      })}\n`,
    );
  }, 120_000);
});
