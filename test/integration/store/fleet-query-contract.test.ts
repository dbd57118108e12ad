/**
 * The Fleet page's SQL (store.dashboard.fleet) and the fleet gauges' sums, on both engines, over a
 * small fleet whose every answer is written out below: each filter, each sort both ways with ties
 * and missing values, paging, counts, the group and tag lists, and tags kept in step on update.
 * (The store contract's own fleet is shared by its cases, so this one gets its own database.)
 */
import { type FleetQuery, FleetQuerySchema } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isConverging } from '../../../control-plane/src/devices/device-summary.ts';
import type { Store } from '../../../control-plane/src/store/store.ts';
import { storeEngines } from '../../helpers/store-engines.ts';

const enrolledAt = new Date('2026-12-06T10:00:00Z');
const T1 = '2026-12-06T10:01:00.000Z';
const T2 = '2026-12-06T10:02:00.000Z';
const T3 = '2026-12-06T10:03:00.000Z';

interface Fixture {
  id: string;
  group: string;
  name: string | null;
  tags: string[];
  online: boolean;
  lastSeenAt: string | null;
  reported: number | null;
  desired: number | null;
  status: string | null;
  queued: number;
  healthQueue?: number;
  predictions: number;
}

// Ties on purpose: two devices per last-seen time, per missing value, per version; names equal
// but for case ('Alpha', 'alpha'); a name with `%` and one with `_` (LIKE's wildcards).
const FLEET: Fixture[] = [
  {
    id: 'cam-01',
    group: 'yard',
    name: 'Gate',
    tags: ['outdoor', 'site-a'],
    online: true,
    lastSeenAt: T3,
    reported: 1,
    desired: null,
    status: 'running',
    queued: 1,
    predictions: 2,
  },
  {
    id: 'cam-02',
    group: 'yard',
    name: null,
    tags: ['outdoor'],
    online: false,
    lastSeenAt: null,
    reported: null,
    desired: 2,
    status: null,
    queued: 0,
    predictions: 0,
  },
  {
    id: 'cam-03',
    group: 'Dock',
    name: 'gate 2',
    tags: ['indoor', 'site-a'],
    online: true,
    lastSeenAt: T1,
    reported: 2,
    desired: 2,
    status: 'running',
    queued: 4,
    healthQueue: 10,
    predictions: 1,
  },
  {
    id: 'cam-04',
    group: 'Dock',
    name: 'Bay_1',
    tags: [],
    online: false,
    lastSeenAt: T2,
    reported: 1,
    desired: 2,
    status: 'error',
    queued: 100,
    predictions: 3,
  },
  {
    id: 'cam-05',
    group: 'attic',
    name: 'bay 100%',
    tags: ['site-b'],
    online: true,
    lastSeenAt: T3,
    reported: 2,
    desired: 1,
    status: 'running',
    queued: 0,
    predictions: 0,
  },
  {
    id: 'cam-06',
    group: 'attic',
    name: 'Alpha',
    tags: ['indoor'],
    online: false,
    lastSeenAt: null,
    reported: null,
    desired: null,
    status: null,
    queued: 0,
    predictions: 0,
  },
  {
    id: 'cam-07',
    group: 'yard',
    name: 'alpha',
    tags: ['outdoor', 'site-b'],
    online: true,
    lastSeenAt: T1,
    reported: 1,
    desired: 1,
    status: 'idle',
    queued: 2,
    predictions: 1,
  },
];

const health = (queueDepth: number) => ({
  fps: 5,
  latencyP50Ms: 4,
  latencyP95Ms: 6,
  framesDropped: 0,
  cameraRestarts: 0,
  queueDepth,
  evictions: 0,
  uptimeS: 60,
  cpuTemperatureC: null,
});

async function seed(store: Store): Promise<void> {
  await store.models.insert({
    modelVersion: 2,
    name: 'm2',
    manifest: { name: 'm2', files: [], labels: ['red'] } as unknown as Parameters<
      Store['models']['insert']
    >[0]['manifest'],
    metrics: null,
    createdAt: enrolledAt.toISOString(),
    publishedAt: enrolledAt.toISOString(),
  });
  for (const group of new Set(FLEET.map((d) => d.group))) {
    await store.devices.createEnrollmentToken({
      tokenHash: `token-${group}`,
      group,
      usesLeft: 10,
      expiresAt: new Date(enrolledAt.getTime() + 3600_000).toISOString(),
    });
  }
  for (const d of FLEET) {
    await store.devices.enroll(
      `token-${d.group}`,
      { deviceId: d.id, name: d.name, hardware: null, secretHash: 'h', tags: d.tags },
      enrolledAt,
    );
    if (d.lastSeenAt !== null) {
      await store.devices.recordReportedState(
        d.id,
        {
          protocol: 1,
          modelVersion: d.reported,
          status: d.status as 'running',
          agentVersion: '0.1.0',
          framesProcessed: 0,
          samplesQueued: d.queued,
          reportedAt: d.lastSeenAt,
          ...(d.healthQueue === undefined ? {} : { health: health(d.healthQueue) }),
        },
        d.lastSeenAt,
      );
      await store.devices.recordStatus(
        d.id,
        { protocol: 1, online: d.online, at: d.lastSeenAt },
        d.lastSeenAt,
      );
    }
    if (d.desired !== null)
      await store.devices.setDesiredVersion([d.id], d.desired, enrolledAt.toISOString());
    for (let k = 0; k < d.predictions; k++) {
      const at = d.lastSeenAt ?? T1;
      await store.devices.recordPrediction(
        d.id,
        {
          protocol: 1,
          modelVersion: 1,
          frameId: `f${k}`,
          capturedAt: at,
          topK: [{ label: 'red', confidence: 0.9 }],
          latencyMs: 4,
        },
        at,
      );
    }
  }
  await store.targets.setPin('cam-03', { modelVersion: 2, reason: 'hold', pinnedBy: 'admin', pinnedAt: T1 });
}

const query = (q: Record<string, string | number> = {}): FleetQuery =>
  FleetQuerySchema.parse(Object.fromEntries(Object.entries(q).map(([k, v]) => [k, String(v)])));

describe.each(storeEngines())('the fleet query on %s', (_name, open) => {
  let store: Store;
  let done: () => Promise<void>;
  beforeAll(async () => {
    ({ store, done } = await open());
    await seed(store);
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await done?.();
  });

  const ids = async (q: Record<string, string | number> = {}) =>
    (await store.dashboard.fleet(query(q))).devices.map((d) => d.deviceId);

  it('sorts by each key both ways, ties by device id in the same direction, missing values first ascending', async () => {
    const ascending: Record<FleetQuery['sort'], string[]> = {
      deviceId: ['cam-01', 'cam-02', 'cam-03', 'cam-04', 'cam-05', 'cam-06', 'cam-07'],
      // No name first; then without case ('Alpha' and 'alpha' tie, byte order breaks it); ' ' < '_'.
      name: ['cam-02', 'cam-06', 'cam-07', 'cam-05', 'cam-04', 'cam-01', 'cam-03'],
      group: ['cam-05', 'cam-06', 'cam-03', 'cam-04', 'cam-01', 'cam-02', 'cam-07'],
      lastSeenAt: ['cam-02', 'cam-06', 'cam-03', 'cam-07', 'cam-04', 'cam-01', 'cam-05'],
      version: ['cam-02', 'cam-06', 'cam-01', 'cam-04', 'cam-07', 'cam-03', 'cam-05'],
      online: ['cam-02', 'cam-04', 'cam-06', 'cam-01', 'cam-03', 'cam-05', 'cam-07'],
    };
    for (const [sort, order] of Object.entries(ascending)) {
      expect(await ids({ sort }), sort).toEqual(order);
      expect(await ids({ sort, dir: 'desc' }), `${sort} desc`).toEqual([...order].reverse());
    }
  });

  it('filters by status, group, tags, version and search, alone and together', async () => {
    expect(await ids({ status: 'online' })).toEqual(['cam-01', 'cam-03', 'cam-05', 'cam-07']);
    expect(await ids({ status: 'offline' })).toEqual(['cam-02', 'cam-04', 'cam-06']);
    expect(await ids({ group: 'Dock' })).toEqual(['cam-03', 'cam-04']);
    expect(await ids({ group: 'dock' })).toEqual([]);
    expect(await ids({ tags: 'site-a' })).toEqual(['cam-01', 'cam-03']);
    expect(await ids({ tags: 'outdoor,site-b' })).toEqual(['cam-07']);
    expect(await ids({ tags: 'outdoor,outdoor' })).toEqual(['cam-01', 'cam-02', 'cam-07']);
    expect(await ids({ tags: 'nope' })).toEqual([]);
    expect(await ids({ version: '1' })).toEqual(['cam-01', 'cam-04', 'cam-07']);
    expect(await ids({ version: 'none' })).toEqual(['cam-02', 'cam-06']);
    expect(await ids({ version: '01' })).toEqual([]);
    expect(await ids({ version: 'x' })).toEqual([]);
    // Search: id, name and group without case, and tags; `%` and `_` match only themselves.
    expect(await ids({ q: 'GATE' })).toEqual(['cam-01', 'cam-03']);
    expect(await ids({ q: 'alpha' })).toEqual(['cam-06', 'cam-07']);
    expect(await ids({ q: 'dock' })).toEqual(['cam-03', 'cam-04']);
    expect(await ids({ q: 'site-b' })).toEqual(['cam-05', 'cam-07']);
    expect(await ids({ q: 'cam-0' })).toHaveLength(7);
    expect(await ids({ q: '_' })).toEqual(['cam-04']);
    expect(await ids({ q: '%' })).toEqual(['cam-05']);
    expect(await ids({ q: 'nothing' })).toEqual([]);
    expect(await ids({ status: 'online', tags: 'outdoor', q: 'a', sort: 'name' })).toEqual([
      'cam-07',
      'cam-01',
    ]);
  });

  it('pages the sorted set and counts all that match, with the fleet-wide total and lists', async () => {
    const first = await store.dashboard.fleet(query({ pageSize: 3 }));
    expect(first.devices.map((d) => d.deviceId)).toEqual(['cam-01', 'cam-02', 'cam-03']);
    expect(await ids({ pageSize: 3, page: 2 })).toEqual(['cam-07']);
    expect(await ids({ pageSize: 3, page: 3 })).toEqual([]);
    expect(await ids({ pageSize: 2, page: 1, sort: 'lastSeenAt', dir: 'desc' })).toEqual([
      'cam-04',
      'cam-07',
    ]);
    expect(first).toMatchObject({
      total: 7,
      matching: 7,
      counts: {
        byVersion: { 1: 3, 2: 2, none: 2 },
        byStatus: { online: 4, offline: 3 },
        byRunStatus: { running: 3, unknown: 2, error: 1, idle: 1 },
        bySync: { none: 2, converging: 3, 'in-sync': 2 },
        pinned: 1,
      },
      // JavaScript's sort: upper case before lower.
      groups: ['Dock', 'attic', 'yard'],
      tags: ['indoor', 'outdoor', 'site-a', 'site-b'],
    });
    // The page lists counts in key order, the same on both engines.
    expect(Object.keys(first.counts.byRunStatus)).toEqual(['error', 'idle', 'running', 'unknown']);
    expect(Object.keys(first.counts.byStatus)).toEqual(['offline', 'online']);
    const dock = await store.dashboard.fleet(query({ group: 'Dock', pageSize: 1 }));
    expect(dock).toMatchObject({
      total: 7,
      matching: 2,
      counts: {
        byVersion: { 1: 1, 2: 1 },
        byStatus: { online: 1, offline: 1 },
        byRunStatus: { running: 1, error: 1 },
        bySync: { converging: 1, 'in-sync': 1 },
        pinned: 1,
      },
      groups: ['Dock', 'attic', 'yard'],
    });
    expect(dock.devices).toHaveLength(1);
    // The page's records are whole: tags, pin, prediction count as the device store has them.
    expect(dock.devices[0]).toEqual(await store.devices.get('cam-03'));
  });

  it('counts sync states exactly as isConverging decides them, device by device', async () => {
    for (const d of await store.devices.list()) {
      const expected = d.desiredVersion === null ? 'none' : isConverging(d) ? 'converging' : 'in-sync';
      const { counts } = await store.dashboard.fleet(query({ q: d.deviceId }));
      expect(counts.bySync, d.deviceId).toEqual({ [expected]: 1 });
    }
  });

  it('sums the gauges: devices by status and version, queued samples of online devices, predictions', async () => {
    const byLabel = Object.fromEntries(
      (await store.dashboard.deviceCounts()).map((c) => [`${c.status}/${c.version}`, c.devices]),
    );
    expect(byLabel).toEqual({
      'running/1': 1,
      'running/2': 2,
      'idle/1': 1,
      'offline/none': 2,
      'offline/1': 1,
    });
    // cam-01 1 + cam-03's heartbeat 10 (not its state's 4) + cam-05 0 + cam-07 2; cam-04 is offline.
    expect(await store.dashboard.sampleQueueItems()).toBe(13);
    expect(await store.dashboard.predictionsStored()).toBe(7);
  });

  it('keeps the tag filter, the tag list and tag targets in step when tags change', async () => {
    await store.devices.update('cam-03', { tags: [] });
    await store.devices.update('cam-06', { tags: ['site-b'] });
    await store.devices.update('cam-01', { group: 'attic' });
    const fleet = await store.dashboard.fleet(query({ tags: 'site-b' }));
    expect(fleet.devices.map((d) => d.deviceId)).toEqual(['cam-05', 'cam-06', 'cam-07']);
    expect(fleet.tags).toEqual(['outdoor', 'site-a', 'site-b']);
    expect(await ids({ tags: 'site-a' })).toEqual(['cam-01']);
    expect(await store.devices.resolveTarget({ tags: ['site-b'] })).toEqual(['cam-05', 'cam-06', 'cam-07']);
    expect(await store.devices.resolveTarget({ tags: ['outdoor', 'site-a'] })).toEqual(['cam-01']);
    expect(await ids({ q: 'indoor' })).toEqual([]);
  });
});
