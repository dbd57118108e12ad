/**
 * Leader election between replicas through a lease in the shared database: two stores opened on
 * one SQLite file stand for two replicas. One leads; a clean stop hands over at once; a leader
 * that cannot reach the database steps down before its lease runs out; duties follow the lead.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@edgeloop/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { type Leadership, leaseLeadership } from '../../../control-plane/src/cluster/leadership.ts';
import { openSqliteStore } from '../../../control-plane/src/store/sqlite-store.ts';
import type { Store } from '../../../control-plane/src/store/store.ts';
import { waitUntil } from '../rollouts/fleet.ts';

const LEASE_MS = 600;
const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function twoReplicas(): Promise<[Store, Store]> {
  const dir = mkdtempSync(join(tmpdir(), 'edgeloop-leases-'));
  const file = join(dir, 'control-plane.db');
  const a = await openSqliteStore(file, silentLogger());
  const b = await openSqliteStore(file, silentLogger());
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanups.push(() => a.close());
  cleanups.push(() => b.close());
  return [a, b];
}

function replica(store: Store, id: string, log: string[]): Leadership {
  const leadership = leaseLeadership({
    leases: store.leases,
    replicaId: id,
    leaseMs: LEASE_MS,
    logger: silentLogger(),
  });
  leadership.add({
    name: 'work',
    start: () => {
      log.push(`${id} start`);
    },
    stop: () => {
      log.push(`${id} stop`);
    },
  });
  cleanups.push(() => leadership.stop());
  return leadership;
}

describe('leader lease', () => {
  it('lets exactly one replica lead and run the duties', async () => {
    const [a, b] = await twoReplicas();
    const log: string[] = [];
    const first = replica(a, 'cp-a', log);
    const second = replica(b, 'cp-b', log);
    await first.start();
    await second.start();
    expect(first.isLeader()).toBe(true);
    expect(second.isLeader()).toBe(false);
    // Several renewals later nothing changed hands.
    await new Promise((r) => setTimeout(r, LEASE_MS * 2));
    expect([first.isLeader(), second.isLeader()]).toEqual([true, false]);
    expect(log).toEqual(['cp-a start']);
  });

  it('keeps the lead while its duties take longer than the lease to start', async () => {
    const [a, b] = await twoReplicas();
    const log: string[] = [];
    // A new leader's first work can be long (republishing every device's retained state): its
    // renewals must go on meanwhile, or the lead lapses and passes back and forth.
    const first = leaseLeadership({
      leases: a.leases,
      replicaId: 'cp-a',
      leaseMs: LEASE_MS,
      logger: silentLogger(),
    });
    first.add({
      name: 'slow',
      start: async () => {
        log.push('cp-a starting');
        await new Promise((r) => setTimeout(r, LEASE_MS * 3));
        log.push('cp-a started');
      },
      stop: () => {
        log.push('cp-a stop');
      },
    });
    cleanups.push(() => first.stop());
    const second = replica(b, 'cp-b', log);
    const starting = first.start();
    await second.start();
    await starting;
    await new Promise((r) => setTimeout(r, LEASE_MS * 2));
    expect([first.isLeader(), second.isLeader()]).toEqual([true, false]);
    expect(log).toEqual(['cp-a starting', 'cp-a started']);
  });

  it('hands the lead over when the leader stops, without waiting for the lease to expire', async () => {
    const [a, b] = await twoReplicas();
    const log: string[] = [];
    const first = replica(a, 'cp-a', log);
    const second = replica(b, 'cp-b', log);
    await first.start();
    await second.start();
    await first.stop();
    expect(await a.leases.holder('leader', Date.now())).toBeNull();
    await waitUntil(() => second.isLeader(), 'cp-b to lead', LEASE_MS);
    expect(log).toEqual(['cp-a start', 'cp-a stop', 'cp-b start']);
  });

  it('steps down before its lease runs out when it cannot renew, and the other takes over after', async () => {
    const [a, b] = await twoReplicas();
    const log: string[] = [];
    const first = replica(a, 'cp-a', log);
    const second = replica(b, 'cp-b', log);
    await first.start();
    await second.start();
    // cp-a loses its database (closed connection: every renewal throws).
    await a.close();
    const lostAt = Date.now();
    await waitUntil(() => log.includes('cp-a stop'), 'cp-a to step down', LEASE_MS * 3);
    await waitUntil(() => second.isLeader(), 'cp-b to lead', LEASE_MS * 3);
    // Never both: cp-a's duties stopped before cp-b's started, and cp-b waited for the expiry.
    expect(log).toEqual(['cp-a start', 'cp-a stop', 'cp-b start']);
    expect(Date.now() - lostAt).toBeGreaterThanOrEqual(LEASE_MS / 3);
  });
});
