/**
 * One behavioural contract for the Store, run against both engines: SQLite (a real file) and
 * Postgres 15 (a throwaway cluster on loopback). Same calls, same answers.
 */
import { ConflictError, UnauthorizedError } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECENT_PREDICTIONS_PER_DEVICE } from '../../../control-plane/src/store/device-store.ts';
import type { Store } from '../../../control-plane/src/store/store.ts';
import { queuedDevice, runningRollout } from '../../helpers/rollout-records.ts';
import { storeEngines } from '../../helpers/store-engines.ts';

const now = new Date('2026-12-06T10:00:00Z');
const later = new Date(now.getTime() + 3600_000).toISOString();

const manifest = (version: number) =>
  ({ name: `m${version}`, files: [], labels: ['red', 'blue'] }) as unknown as Parameters<
    Store['models']['updateManifest']
  >[1];

describe.each(storeEngines())('the %s store', (_name, open) => {
  let store: Store;
  let done: () => Promise<void>;
  beforeAll(async () => {
    ({ store, done } = await open());
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await done?.();
  });

  /** A running model rollout of version 2 to the yard group (its waves are the test's business). */
  const rolloutOf = (rolloutId: string, at: string, currentWave = 0) =>
    runningRollout(rolloutId, at, { target: { group: 'yard' }, currentWave });
  const mintToken = (tokenHash: string, group: string, usesLeft: number) =>
    store.devices.createEnrollmentToken({ tokenHash, group, usesLeft, expiresAt: later });
  const enroll = (deviceId: string, token = 'tok', tags: string[] = []) =>
    store.devices.enroll(token, { deviceId, name: null, hardware: null, secretHash: 'h', tags }, now);

  it('spends a token use per enrollment and refuses a used-up or unknown one', async () => {
    await mintToken('tok', 'yard', 3);
    expect(await store.devices.enrollmentTokenUsable('tok', now)).toBe(true);
    const a = await enroll('cam-a', 'tok', ['outdoor']);
    expect(a).toMatchObject({ deviceId: 'cam-a', group: 'yard', tags: ['outdoor'], online: false });
    await expect(enroll('cam-a')).rejects.toBeInstanceOf(ConflictError);
    await enroll('cam-b');
    await enroll('cam-c', 'tok', ['outdoor', 'site-1']);
    expect(await store.devices.enrollmentTokenUsable('tok', now)).toBe(false);
    await expect(enroll('cam-d')).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(enroll('cam-e', 'nope')).rejects.toBeInstanceOf(UnauthorizedError);
    expect((await store.devices.list()).map((d) => d.deviceId)).toEqual(['cam-a', 'cam-b', 'cam-c']);
  });

  it('lets exactly one of two concurrent enrollments spend the last use', async () => {
    await mintToken('last', 'dock', 1);
    const results = await Promise.allSettled([enroll('race-1', 'last'), enroll('race-2', 'last')]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(UnauthorizedError);
  });

  it('updates devices, resolves targets and records desired versions', async () => {
    expect(await store.devices.update('cam-b', { group: 'dock', tags: ['indoor'] })).toMatchObject({
      group: 'dock',
      tags: ['indoor'],
    });
    expect(await store.devices.update('ghost', { group: 'x' })).toBeNull();
    expect(await store.devices.resolveTarget({ tags: ['outdoor'] })).toEqual(['cam-a', 'cam-c']);
    const dock = await store.devices.resolveTarget({ group: 'dock' });
    expect(dock).toHaveLength(2);
    expect(dock[0]).toBe('cam-b');
    expect(await store.devices.resolveTarget({ deviceIds: ['cam-c', 'ghost', 'cam-a'] })).toEqual([
      'cam-a',
      'cam-c',
    ]);
    await store.devices.setDesiredVersion(['cam-a', 'cam-c'], 3, now.toISOString());
    expect((await store.devices.get('cam-a'))?.desiredVersion).toBe(3);
    expect((await store.devices.getMany(['cam-c', 'ghost', 'cam-a'])).map((d) => d.deviceId)).toEqual([
      'cam-c',
      'cam-a',
    ]);
  });

  it('records status, predictions (counted, latest per camera) and events', async () => {
    await store.devices.recordStatus(
      'cam-a',
      { protocol: 1, online: true, at: now.toISOString() },
      now.toISOString(),
    );
    for (let i = 0; i < 3; i++) {
      await store.devices.recordPrediction(
        'cam-a',
        {
          protocol: 1,
          modelVersion: 1,
          frameId: `f${i}`,
          capturedAt: now.toISOString(),
          topK: [{ label: 'red', confidence: 0.5 + i / 10 }],
          latencyMs: 4.25,
        } as Parameters<Store['devices']['recordPrediction']>[1],
        now.toISOString(),
      );
    }
    const device = await store.devices.get('cam-a');
    expect(device).toMatchObject({ online: true, predictionsTotal: 3 });
    expect(device?.lastPrediction?.frameId).toBe('f2');
    expect((await store.devices.cameraPredictions('cam-a')).map((p) => p.prediction.frameId)).toEqual(['f2']);
    for (const message of ['one', 'two', 'three']) {
      await store.events.record(
        'cam-a',
        { protocol: 1, deviceId: 'cam-a', type: 'agent-error', message, at: now.toISOString() } as Parameters<
          Store['events']['record']
        >[1],
        now.toISOString(),
      );
    }
    expect((await store.events.list('cam-a', 2)).map((e) => e.message)).toEqual(['three', 'two']);
    expect(await store.events.prune('2000-01-01T00:00:00Z', 1)).toBe(2);
    await store.devices.markAllOffline();
    expect((await store.devices.get('cam-a'))?.online).toBe(false);
  });

  it('only accepts a model version greater than every stored one', async () => {
    const record = (v: number) => ({
      modelVersion: v,
      name: `m${v}`,
      manifest: manifest(v),
      metrics: null,
      createdAt: now.toISOString(),
      publishedAt: now.toISOString(),
    });
    await store.models.insert(record(1));
    await store.models.insert(record(2));
    await expect(store.models.insert(record(2))).rejects.toBeInstanceOf(ConflictError);
    await expect(store.models.insert(record(1))).rejects.toBeInstanceOf(ConflictError);
    expect(await store.models.latestVersion()).toBe(2);
    expect([...(await store.models.getMany([2, 1, 2, 7])).keys()].sort()).toEqual([1, 2]);
    expect((await store.models.getMany([])).size).toBe(0);
    expect((await store.models.list()).map((m) => m.modelVersion)).toEqual([1, 2]);
  });

  it('stores a sample once per idempotency key and once per image content', async () => {
    const sample = (key: string, sha256: string) =>
      ({
        deviceId: 'cam-a',
        sha256,
        objectKey: `samples/${sha256}.jpg`,
        contentType: 'image/jpeg',
        bytes: 100,
        width: 8,
        height: 8,
        metadata: {
          protocol: 1,
          idempotencyKey: key,
          modelVersion: 1,
          frameId: 'f1',
          capturedAt: now.toISOString(),
          reason: 'low-confidence',
          topK: [{ label: 'red', confidence: 0.4 }],
          embedding,
        },
      }) as unknown as Parameters<Store['samples']['insert']>[0];
    const embedding = [12, -7, 0, 127, -128, 3, 5, 9];
    const first = await store.samples.insert(sample('k1', 'a'.repeat(64)), now.toISOString());
    expect(first.duplicate).toBe(false);
    expect((await store.samples.insert(sample('k1', 'b'.repeat(64)), now.toISOString())).duplicate).toBe(
      true,
    );
    const [x, y] = await Promise.all([
      store.samples.insert(sample('k2', 'c'.repeat(64)), now.toISOString()),
      store.samples.insert(sample('k3', 'c'.repeat(64)), now.toISOString()),
    ]);
    expect([x.duplicate, y.duplicate].sort()).toEqual([false, true]);
    expect((await store.samples.list({ limit: 10, offset: 0 })).total).toBe(2);

    const labelled = await store.labelling.apply({
      sampleId: first.sample.sampleId,
      action: 'correct',
      label: 'blue',
      status: 'corrected',
      actor: 'olga',
      at: now.toISOString(),
    });
    expect(labelled).toMatchObject({ label: 'blue', labelStatus: 'corrected' });
    expect(await store.labelling.countUnlabelled()).toBe(1);
    // What the queue keeps its picks away from: the embeddings of labelled frames only.
    expect(await store.labelling.labelledEmbeddings(10)).toEqual([embedding]);
    expect((await store.samples.list({ labelled: true, limit: 10, offset: 0 })).total).toBe(1);
    expect(await store.samples.markUsed([first.sample.sampleId, first.sample.sampleId], 2)).toBe(1);
  });

  it('keeps rollouts with their device transitions', async () => {
    const at = now.toISOString();
    await store.rollouts.create(rolloutOf('r1', at), [queuedDevice('r1', 'cam-a', at)]);
    await store.rollouts.transition('r1', 'cam-a', 'notified', null, at, true);
    const [entry] = await store.rollouts.devices('r1');
    expect(entry).toMatchObject({ state: 'notified', notifiedAt: at });
    expect((await store.rollouts.history('r1')).get('cam-a')?.map((h) => h.state)).toEqual([
      'queued',
      'notified',
    ]);
    expect((await store.rollouts.listLive()).map((r) => r.rolloutId)).toEqual(['r1']);
    // Compare and set: a writer that read 'notified' before another moved the device on loses.
    expect(await store.rollouts.advance('r1', 'cam-a', 'notified', 'active', 'running version 2', at)).toBe(
      true,
    );
    expect(await store.rollouts.advance('r1', 'cam-a', 'notified', 'downloading', null, at)).toBe(false);
    expect((await store.rollouts.devices('r1'))[0].state).toBe('active');
    expect((await store.rollouts.history('r1')).get('cam-a')?.map((h) => h.state)).toEqual([
      'queued',
      'notified',
      'active',
    ]);
  });

  it('answers what a rollout drive reads: counts per state and wave, late and queued devices', async () => {
    const minute = (m: number) => new Date(now.getTime() + m * 60_000).toISOString();
    const entry = (deviceId: string, wave: number) => queuedDevice('r5', deviceId, minute(0), { wave });
    await store.rollouts.create(rolloutOf('r5', minute(0), 1), [
      entry('cam-a', 0),
      entry('cam-b', 1),
      entry('cam-c', 1),
    ]);
    await store.rollouts.transition('r5', 'cam-a', 'active', null, minute(0), true);
    await store.rollouts.transition('r5', 'cam-b', 'downloading', null, minute(5), true);
    const summary = await store.rollouts.waves.summary('r5', 1, minute(3));
    // Plain numbers on both engines (Postgres counts are bigint).
    expect(summary).toEqual({
      counts: { active: 1, downloading: 1, queued: 1 },
      waveCounts: { downloading: 1, queued: 1 },
      notifiedSince: 1,
    });
    expect(await store.rollouts.waves.notifiedBefore('r5', ['notified', 'downloading'], minute(6))).toEqual([
      'cam-b',
    ]);
    expect(await store.rollouts.waves.notifiedBefore('r5', ['notified', 'downloading'], minute(5))).toEqual(
      [],
    );
    expect(await store.rollouts.waves.queued('r5', 1, 10)).toEqual(['cam-c']);
    expect(await store.rollouts.waves.queued('r5', 0, 10)).toEqual([]);
    expect(await store.rollouts.waves.queued('r5', 1, 0)).toEqual([]);
    await store.rollouts.update('r5', { state: 'aborted' }, minute(9));
  });

  it('reads and applies a batch of rollout tracking in one go', async () => {
    const at = now.toISOString();
    await store.rollouts.create(rolloutOf('r9', at), [
      queuedDevice('r9', 'cam-a', at, { state: 'notified', notifiedAt: at }),
    ]);
    const tracked = await store.rollouts.trackedEntriesOf(['cam-a', 'cam-a', 'nobody']);
    expect([...tracked.keys()]).toEqual(['cam-a']);
    expect(tracked.get('cam-a')?.find((e) => e.rolloutId === 'r9')).toMatchObject({
      modelVersion: 2,
      state: 'notified',
    });
    const latest = { modelVersion: 2, frames: 10, meanConfidence: 0.9, lowConfidenceRate: 0.1 };
    const move = (from: 'notified' | 'downloading', to: 'downloading' | 'verifying' | 'installed') => ({
      rolloutId: 'r9',
      deviceId: 'cam-a',
      from,
      to,
      reason: null,
      at,
    });
    // One device's moves chain in order; a move from a state it already left does not apply.
    expect(
      await store.rollouts.applyTracking(
        [move('notified', 'downloading'), move('downloading', 'verifying'), move('notified', 'installed')],
        [{ rolloutId: 'r9', deviceId: 'cam-a', baseline: null, latest: latest as never }],
      ),
    ).toEqual([true, true, false]);
    expect((await store.rollouts.devices('r9'))[0]).toMatchObject({ state: 'verifying', latest });
    expect((await store.rollouts.history('r9')).get('cam-a')?.map((h) => h.state)).toEqual([
      'notified',
      'downloading',
      'verifying',
    ]);
    // Once the device is active and the rollout completed, nothing of it is tracked any more.
    await store.rollouts.transition('r9', 'cam-a', 'active', null, at);
    await store.rollouts.update('r9', { state: 'completed' }, at);
    const after = await store.rollouts.trackedEntriesOf(['cam-a']);
    expect(after.get('cam-a')?.some((e) => e.rolloutId === 'r9')).toBe(false);
  });

  it('moves an agent rollout device only from the state it was read in', async () => {
    const at = now.toISOString();
    await store.agentVersions.createRollout(
      {
        rolloutId: 'arol-1',
        agentVersion: '0.2.0',
        target: { deviceIds: ['cam-a'] },
        strategy: { waves: [] } as never,
        state: 'running',
        currentWave: 0,
        waves: [],
        reason: null,
        createdAt: at,
        updatedAt: at,
      },
      [
        {
          rolloutId: 'arol-1',
          deviceId: 'cam-a',
          wave: 0,
          state: 'notified',
          previousVersion: '0.1.0',
          reason: null,
          notifiedAt: at,
          updatedAt: at,
          history: [],
        },
      ],
    );
    const moved = await store.agentVersions.advance('arol-1', 'cam-a', 'notified', 'active', 'confirmed', at);
    expect(moved).toBe(true);
    // A replica that read 'notified' before: its older phase is not written over 'active'.
    expect(await store.agentVersions.advance('arol-1', 'cam-a', 'notified', 'installed', null, at)).toBe(
      false,
    );
    const [device] = await store.agentVersions.rolloutDevices('arol-1');
    expect(device.state).toBe('active');
    expect(device.history.map((h) => h.state)).toEqual(['active']);
  });

  it("reads many devices' desired agent versions at once, the same as one by one", async () => {
    const at = now.toISOString();
    await store.agentVersions.setDesired(['cam-a', 'cam-b'], '0.2.0', false, at);
    await store.agentVersions.setDesired(['cam-c'], '0.1.0', true, later);
    const many = await store.agentVersions.desiredOfMany(['cam-a', 'cam-c', 'cam-a', 'no-such-device']);
    expect([...many.keys()].sort()).toEqual(['cam-a', 'cam-c']);
    expect(many.get('cam-a')).toEqual({ agentVersion: '0.2.0', rollback: false, updatedAt: at });
    expect(many.get('cam-c')).toEqual(await store.agentVersions.desiredOf('cam-c'));
    expect(many.get('cam-c')?.rollback).toBe(true);
    expect((await store.agentVersions.desiredOfMany([])).size).toBe(0);
    await store.agentVersions.setDesired(['cam-a', 'cam-b', 'cam-c'], null, false, later);
    expect((await store.agentVersions.desiredOfMany(['cam-a', 'cam-b', 'cam-c'])).size).toBe(0);
  });

  it('keeps pipeline runs and their step logs', async () => {
    await store.pipeline.createRun({
      id: 'run-1',
      trigger: 'manual',
      requestedBy: 'olga',
      createdAt: now.toISOString(),
      steps: ['export', 'train'],
    });
    await store.pipeline.appendStepLog('run-1', 0, 'hello ');
    await store.pipeline.appendStepLog('run-1', 0, 'world');
    await store.pipeline.setRun('run-1', { status: 'running', startedAt: now.toISOString() });
    const run = await store.pipeline.getRun('run-1');
    expect(run).toMatchObject({
      status: 'running',
      steps: [{ name: 'export', log: 'hello world' }, { name: 'train' }],
    });
    expect((await store.pipeline.runsIn(['running'])).map((r) => r.id)).toEqual(['run-1']);
  });

  it('records the configuration a device applied, replaced when it changes', async () => {
    const applied = { revision: 'r1', status: 'applied' as const, at: now.toISOString() };
    await store.config.recordApplied('cam-a', applied, now.toISOString());
    await store.config.recordApplied('cam-a', applied, later);
    expect(await store.config.getApplied('cam-a')).toEqual(applied);
    const reverted = { ...applied, status: 'reverted' as const, failedRevision: 'r2' };
    await store.config.recordApplied('cam-a', reverted, later);
    expect(await store.config.getApplied('cam-a')).toEqual(reverted);
  });

  it("replaces a device's secret hash with a newer form only while it is still the one read", async () => {
    await mintToken('tok-r', 'yard', 2);
    await enroll('cam-ra', 'tok-r');
    await enroll('cam-rb', 'tok-r');
    expect(await store.security.rehashSecret('cam-ra', 'h', 'h2')).toBe(true);
    expect(await store.devices.secretHashes(['cam-ra'])).toEqual(new Map([['cam-ra', 'h2']]));
    // Rotated meanwhile (another replica): the rotation stands.
    expect(await store.security.replaceSecretHash('cam-rb', 'rotated')).toBe(true);
    expect(await store.security.rehashSecret('cam-rb', 'h', 'h2')).toBe(false);
    expect(await store.devices.secretHashes(['cam-rb'])).toEqual(new Map([['cam-rb', 'rotated']]));
    expect(await store.security.rehashSecret('ghost', 'h', 'h2')).toBe(false);
  });

  it('lets one holder at a time take a lease, and another once it expires or is released', async () => {
    const t = now.getTime();
    expect(await store.leases.acquire('leader', 'cp-a', 1_000, t)).toBe(true);
    expect(await store.leases.acquire('leader', 'cp-b', 1_000, t + 10)).toBe(false);
    expect(await store.leases.acquire('leader', 'cp-a', 1_000, t + 500)).toBe(true);
    expect(await store.leases.holder('leader', t + 600)).toBe('cp-a');
    expect(await store.leases.acquire('leader', 'cp-b', 1_000, t + 1_600)).toBe(true);
    await store.leases.release('leader', 'cp-a');
    expect(await store.leases.holder('leader', t + 1_700)).toBe('cp-b');
    await store.leases.release('leader', 'cp-b');
    expect(await store.leases.holder('leader', t + 1_700)).toBeNull();
  });

  it('lists the leases of a kind that expired without being released', async () => {
    const t = now.getTime();
    await store.leases.acquire('session/a', 'cp-a', 1_000, t);
    await store.leases.acquire('session/b', 'cp-b', 2_000, t);
    await store.leases.acquire('session/c', 'cp-c', 1_000, t);
    await store.leases.release('session/c', 'cp-c');
    await store.leases.acquire('leader', 'cp-a', 1, t);
    expect(await store.leases.expired('session/', t + 500)).toEqual([]);
    expect(await store.leases.expired('session/', t + 1_500)).toEqual([
      { name: 'session/a', holder: 'cp-a' },
    ]);
    expect(await store.leases.expired('session/', t + 2_500)).toEqual([
      { name: 'session/a', holder: 'cp-a' },
      { name: 'session/b', holder: 'cp-b' },
    ]);
  });

  it('charges a shared token bucket atomically, refills it with time and bounds its debt', async () => {
    let t = now.getTime();
    const policy = { burst: 5, perMs: 1 / 1000 };
    const key = 'contract/addr:198.51.100.7';
    expect((await store.rateBuckets.read([key])).size).toBe(0);
    // Three charges at once (a pool of connections on Postgres): none is lost.
    await Promise.all(Array.from({ length: 3 }, () => store.rateBuckets.charge(key, 1, policy, t)));
    expect((await store.rateBuckets.read([key, 'contract/other'])).get(key)).toEqual({ tokens: 2, at: t });
    t += 2_000; // two tokens earned back, never above the burst
    expect(await store.rateBuckets.charge(key, 1, policy, t)).toBeCloseTo(3, 5);
    t += 60_000;
    expect(await store.rateBuckets.charge(key, 1, policy, t)).toBeCloseTo(4, 5);
    // Past empty the debt goes down to minus the burst, no further.
    expect(await store.rateBuckets.charge(key, 8, policy, t)).toBeCloseTo(-4, 5);
    expect(await store.rateBuckets.charge(key, 8, policy, t)).toBeCloseTo(-5, 5);
    await store.rateBuckets.charge('contract/addr:198.51.100.8', 1, policy, t);
    // Buckets idle long enough to be full again are pruned; only under the prefix asked.
    expect(await store.rateBuckets.prune('other/', t + 60_000)).toBe(0);
    expect(await store.rateBuckets.prune('contract/', t + 60_000)).toBe(2);
  });

  it('rolls a transaction back as a whole', async () => {
    await expect(
      store.transaction(async (tx) => {
        await tx.devices.update('cam-a', { group: 'moved' });
        throw new Error('stop');
      }),
    ).rejects.toThrow('stop');
    expect((await store.devices.get('cam-a'))?.group).toBe('yard');
  });
  describe('desired-state sequence numbers', () => {
    const t = (minute: number) => new Date(now.getTime() + minute * 60_000).toISOString();
    /** `at` and entries written 'device=content'; answers written 'sequence@minute'. */
    const ask = async (at: number, ...entries: string[]) =>
      (
        await store.security.desiredSequences(
          entries.map((e) => ({ deviceId: e.split('=')[0], content: e.split('=')[1] })),
          t(at),
        )
      ).map((n) => `${n.sequence}@${(Date.parse(n.issuedAt) - now.getTime()) / 60_000}`);

    it('numbers a batch in the order asked: a new number only when the content changed', async () => {
      expect(await ask(1)).toEqual([]);
      expect(await ask(1, 'cam-a=A1', 'cam-b=B1')).toEqual(['1@1', '1@1']);
      // Unchanged content keeps its number and issue time (every copy is the same message).
      expect(await ask(2, 'cam-a=A1', 'cam-b=B2', 'cam-c=C1')).toEqual(['1@1', '2@2', '1@2']);
      // One device twice in a batch: as two calls in that order.
      expect(await ask(3, 'cam-a=A2', 'cam-a=A2', 'cam-a=A3')).toEqual(['2@3', '2@3', '3@3']);
      // The one-device call agrees with what the batches stored; going back to older content is a change.
      expect(await store.security.desiredSequence('cam-a', 'A3', t(4))).toEqual({
        sequence: 3,
        issuedAt: t(3),
      });
      expect(await store.security.desiredSequence('cam-b', 'B1', t(4))).toEqual({
        sequence: 3,
        issuedAt: t(4),
      });
    });

    it('numbers a batch larger than one statement holds, and batches at once never share a number', async () => {
      const ids = Array.from({ length: 300 }, (_, i) => `seq-${String(i).padStart(3, '0')}`);
      await mintToken('seq', 'seq', ids.length);
      for (const id of ids) await enroll(id, 'seq');
      expect(new Set(await ask(1, ...ids.map((id) => `${id}=v1`)))).toEqual(new Set(['1@1']));
      // Replicas publishing different content for the same devices at the same moment (each on
      // a connection of its own: the pool's connections are opened first).
      await Promise.all(ids.slice(0, 4).map((id) => store.devices.get(id)));
      const answers = await Promise.all(['x', 'y', 'z'].map((c) => ask(2, ...ids.map((id) => `${id}=${c}`))));
      for (let i = 0; i < ids.length; i++) {
        expect(answers.map((a) => a[i]).sort()).toEqual(['2@2', '3@2', '4@2']);
      }
      const last = ['x', 'y', 'z'][answers.findIndex((a) => a[0] === '4@2')];
      expect(await ask(3, `${ids[0]}=${last}`)).toEqual(['4@2']);
    });
  });

  describe('batched device reports', () => {
    const at = (second: number) => new Date(now.getTime() + second * 1000).toISOString();
    const prediction = (frameId: string, confidence: number, cameraId?: string) =>
      ({
        protocol: 1,
        modelVersion: 1,
        frameId,
        capturedAt: now.toISOString(),
        topK: [{ label: 'red', confidence }],
        latencyMs: 3,
        ...(cameraId ? { cameraId } : {}),
      }) as Parameters<Store['devices']['recordPrediction']>[1];
    const state = (modelVersion: number, status: 'running' | 'idle') =>
      ({
        protocol: 1,
        modelVersion,
        status,
        agentVersion: '1.0.0',
        framesProcessed: modelVersion * 10,
        samplesQueued: 0,
      }) as Parameters<Store['devices']['recordReportedState']>[1];

    beforeAll(async () => {
      await mintToken('batch', 'b', 3);
      for (const id of ['batch-1', 'batch-2', 'batch-3']) await enroll(id, 'batch');
    });

    it('keeps each device its own recent window, however many devices report in between', async () => {
      // Interleaved, one prediction per call: ids grow across devices, the window is per device.
      const calls = RECENT_PREDICTIONS_PER_DEVICE + 20;
      for (let i = 0; i < calls; i++) {
        for (const id of ['batch-1', 'batch-2']) {
          await store.devices.recordPrediction(id, prediction(`f${i}`, i / 1000), at(i));
        }
      }
      const recent = await store.dashboard.telemetry(['batch-1', 'batch-2']);
      for (const id of ['batch-1', 'batch-2']) {
        const kept = recent.get(id)!.map((p) => Math.round(p.confidence * 1000));
        expect(kept).toHaveLength(RECENT_PREDICTIONS_PER_DEVICE);
        expect(kept[0]).toBe(20);
        expect(kept.at(-1)).toBe(calls - 1);
        expect((await store.devices.get(id))?.predictionsTotal).toBe(calls);
      }
    });

    it('writes a batch: counted, last state and status win, last per camera, window trimmed per device', async () => {
      const before = (await store.devices.get('batch-1'))!.predictionsTotal;
      const untouched = (await store.devices.get('batch-2'))!;
      const health = {
        fps: 2.5,
        latencyP50Ms: 12,
        latencyP95Ms: null,
        framesDropped: 0,
        cameraRestarts: 1,
        queueDepth: 3,
        evictions: 0,
        uptimeS: 60,
        cpuTemperatureC: null,
      };
      const withDetail = { ...state(7, 'idle'), agentVersion: '1.2.0', detail: 'camera: retrying', health };
      await store.devices.recordBatch(
        [
          { kind: 'state', deviceId: 'batch-3', state: state(1, 'idle'), receivedAt: at(1) },
          {
            kind: 'status',
            deviceId: 'batch-3',
            status: { protocol: 1, online: true, at: at(1) },
            receivedAt: at(1),
          },
          ...Array.from({ length: 7 }, (_, i) => ({
            kind: 'prediction' as const,
            deviceId: 'batch-3',
            prediction: prediction(`g${i}`, i / 100, i % 2 === 0 ? 'front' : 'back'),
            receivedAt: at(2 + i),
          })),
          { kind: 'prediction', deviceId: 'batch-1', prediction: prediction('h0', 0.5), receivedAt: at(3) },
          { kind: 'state', deviceId: 'batch-1', state: withDetail, receivedAt: at(4) },
          { kind: 'state', deviceId: 'batch-3', state: state(2, 'running'), receivedAt: at(20) },
          {
            kind: 'status',
            deviceId: 'batch-2',
            status: { protocol: 1, online: false, at: at(1) },
            receivedAt: at(21),
          },
        ],
        { recentPredictionsPerDevice: 4 },
      );
      const three = (await store.devices.get('batch-3'))!;
      expect(three).toMatchObject({
        reportedVersion: 2,
        status: 'running',
        online: true,
        predictionsTotal: 7,
      });
      expect(three.lastSeenAt).toBe(at(20));
      // Several devices' states in one statement, each its own values; a device without one keeps its own.
      expect(await store.devices.get('batch-1')).toMatchObject({
        reportedVersion: 7,
        status: 'idle',
        detail: 'camera: retrying',
        agentVersion: '1.2.0',
        framesProcessed: 70,
        samplesQueued: 0,
        health,
      });
      expect(three).toMatchObject({ detail: null, agentVersion: '1.0.0', framesProcessed: 20, health: null });
      const two = (await store.devices.get('batch-2'))!;
      expect([two.reportedVersion, two.status, two.framesProcessed]).toEqual([
        untouched.reportedVersion,
        untouched.status,
        untouched.framesProcessed,
      ]);
      expect(three.lastPrediction?.frameId).toBe('g6');
      expect(
        (await store.devices.cameraPredictions('batch-3')).map((p) => [p.cameraId, p.prediction.frameId]),
      ).toEqual([
        ['back', 'g5'],
        ['front', 'g6'],
      ]);
      const recent = await store.dashboard.telemetry(['batch-1', 'batch-3']);
      expect(recent.get('batch-3')!.map((p) => Math.round(p.confidence * 100))).toEqual([3, 4, 5, 6]);
      // Only the newest two when asked (the fleet page's figures), still oldest first.
      const newest = await store.dashboard.telemetry(['batch-3', 'batch-1'], 2);
      expect(newest.get('batch-3')!.map((p) => Math.round(p.confidence * 100))).toEqual([5, 6]);
      expect(newest.get('batch-1')).toHaveLength(2);
      // The other device's window is trimmed to the batch's window too, newest kept.
      expect(recent.get('batch-1')!.map((p) => p.confidence)).toHaveLength(4);
      expect(recent.get('batch-1')!.at(-1)?.confidence).toBe(0.5);
      expect((await store.devices.get('batch-1'))!.predictionsTotal).toBe(before + 1);
      expect((await store.devices.get('batch-2'))!.lastSeenAt).toBe(at(21));
      expect(await store.devices.existingIds(['batch-1', 'ghost', 'batch-3'])).toEqual(
        new Set(['batch-1', 'batch-3']),
      );
    });

    it("reads the fleet's confidence-drift figures: the newest per version, with baselines", async () => {
      const figures = await store.alerts.confidenceFigures(
        [
          { deviceId: 'batch-3', modelVersion: 1 },
          { deviceId: 'batch-2', modelVersion: 99 },
        ],
        3,
      );
      // The newest three of 0.03…0.06: their mean.
      expect(figures.get('batch-3')).toMatchObject({ recentCount: 3, baseline: null });
      expect(figures.get('batch-3')!.recentMean).toBeCloseTo(0.05, 6);
      expect(figures.get('batch-2')).toEqual({ recentCount: 0, recentMean: null, baseline: null });
      await store.alerts.setBaseline('batch-3', 1, { mean: 0.05, predictions: 3 }, at(30));
      const again = await store.alerts.confidenceFigures([{ deviceId: 'batch-3', modelVersion: 1 }], 2);
      expect(again.get('batch-3')).toMatchObject({
        recentCount: 2,
        baseline: { mean: 0.05, predictions: 3 },
      });
      expect(again.get('batch-3')!.recentMean).toBeCloseTo(0.055, 6);
    });

    it('inserts a batch of events in order', async () => {
      const event = (message: string) =>
        ({ protocol: 1, type: 'agent-error', message, at: now.toISOString() }) as Parameters<
          Store['events']['record']
        >[1];
      await store.events.recordBatch(
        ['e1', 'e2', 'e3'].map((m, i) => ({
          deviceId: i === 1 ? 'batch-2' : 'batch-3',
          event: event(m),
          receivedAt: at(i),
        })),
      );
      expect((await store.events.list('batch-3')).map((e) => e.message)).toEqual(['e3', 'e1']);
      expect((await store.events.list('batch-2')).map((e) => e.message)).toEqual(['e2']);
      // A wave's error events in one read: newest first, only the types asked, bounded per device.
      await store.events.record('batch-3', { ...event('warm'), type: 'model-installed' }, at(5));
      const errors = await store.events.listOfTypes(['batch-2', 'batch-3'], ['agent-error'], 1);
      expect(errors.map((e) => [e.deviceId, e.message])).toEqual([
        ['batch-3', 'e3'],
        ['batch-2', 'e2'],
      ]);
      expect(await store.events.listOfTypes(['batch-3'], ['camera-error'], 10)).toEqual([]);
    });
  });
});
