/**
 * The leader lease on a real Postgres under the two conditions a fleet rollout brings: a pool whose
 * every connection is busy (the leader must keep its lease: renewals have a connection of their
 * own), and a server that stops answering without closing anything (the leader must step down
 * before its lease runs out, not wait on a renewal that never returns).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { silentLogger } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leaseLeadership } from '../../../control-plane/src/cluster/leadership.ts';
import type { LeaseStore } from '../../../control-plane/src/store/lease-store.ts';
import { openPostgresStore } from '../../../control-plane/src/store/postgres-store.ts';
import type { Store } from '../../../control-plane/src/store/store.ts';
import { type PostgresCluster, postgresSkipped, startPostgres } from '../../helpers/postgres-cluster.ts';
import { waitUntil } from '../rollouts/fleet.ts';

const LEASE_MS = 1_500;
const POOL_SIZE = 2;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let cluster: PostgresCluster;
let store: Store;

beforeAll(async () => {
  cluster = await startPostgres();
  store = await openPostgresStore({ url: cluster.url, poolSize: POOL_SIZE }, silentLogger());
}, 60_000);

afterAll(async () => {
  await store?.close();
  await cluster?.stop();
});

/** A leader on `store` whose duty log and successful renewals the test can read. */
function leaderOn(leases: LeaseStore, replicaId: string) {
  const log: { what: string; at: number }[] = [];
  /** Renewals that succeeded: when each began (the lease runs from there) and when it answered. */
  const renewals: { began: number; answered: number }[] = [];
  const leadership = leaseLeadership({
    leases: {
      ...leases,
      async acquire(name, holder, ttlMs, now) {
        const held = await leases.acquire(name, holder, ttlMs, now);
        if (held) renewals.push({ began: now, answered: Date.now() });
        return held;
      },
    },
    replicaId,
    leaseMs: LEASE_MS,
    logger: silentLogger(),
    name: `leader-${replicaId}`,
  });
  leadership.add({
    name: 'work',
    start: () => void log.push({ what: 'start', at: Date.now() }),
    stop: () => void log.push({ what: 'stop', at: Date.now() }),
  });
  return { leadership, log, renewals };
}

/** Postgres's processes: the postmaster and every backend it forked. */
async function serverProcesses(): Promise<number[]> {
  const postmaster = await cluster.pid();
  if (postmaster === null) throw new Error('postgres is not running');
  const { stdout } = await promisify(execFile)('ps', ['-o', 'pid=', '--ppid', String(postmaster)]);
  return [postmaster, ...stdout.split('\n').filter(Boolean).map(Number)];
}

describe.skipIf(postgresSkipped)('leader lease on Postgres', () => {
  it('keeps the lead while every pooled connection is held by slow work', async () => {
    const { leadership, log } = leaderOn(store.leases, 'busy');
    await leadership.start();
    expect(leadership.isLeader()).toBe(true);
    // Every pooled connection held three leases long (transactions that keep theirs while they
    // wait), the way a burst of ingest and rollout queries holds them.
    const holdMs = 3 * LEASE_MS;
    const holds = Array.from({ length: POOL_SIZE }, () =>
      store.transaction(async (tx) => {
        await tx.devices.list();
        await sleep(holdMs);
      }),
    );
    await sleep(50);
    // Ordinary work waits its turn meanwhile: the pool really is saturated.
    const queuedAt = Date.now();
    await store.devices.list();
    expect(Date.now() - queuedAt).toBeGreaterThanOrEqual(holdMs - 200);
    await Promise.all(holds);
    expect(leadership.isLeader()).toBe(true);
    expect(log.map((e) => e.what)).toEqual(['start']);
    await leadership.stop();
  });

  it('steps down before its lease ends when the server stops answering, and leads again after', async () => {
    const { leadership, log, renewals } = leaderOn(store.leases, 'frozen');
    await leadership.start();
    const frozen = await serverProcesses();
    for (const pid of frozen) process.kill(pid, 'SIGSTOP');
    try {
      await waitUntil(() => log.some((e) => e.what === 'stop'), 'the leader to step down', 3 * LEASE_MS);
    } finally {
      for (const pid of frozen) process.kill(pid, 'SIGCONT');
    }
    const stoppedAt = log.find((e) => e.what === 'stop')?.at ?? Number.POSITIVE_INFINITY;
    // The last lease it knew it held (from the start of that renewal) still held when it stopped.
    const known = renewals.filter((r) => r.answered < stoppedAt).at(-1)?.began ?? 0;
    expect(stoppedAt).toBeLessThan(known + LEASE_MS);
    expect(leadership.isLeader()).toBe(false);
    // The server answers again: the same replica renews and leads once more.
    await waitUntil(() => leadership.isLeader(), 'the leader to lead again', 5 * LEASE_MS);
    expect(log.map((e) => e.what)).toEqual(['start', 'stop', 'start']);
    await leadership.stop();
  });
});
