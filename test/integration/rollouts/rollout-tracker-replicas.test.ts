/**
 * Two replicas recording one device's reports at once (shared subscriptions hand its successive
 * state messages to different replicas): one read the device's rollout state as 'verifying' and
 * is about to record 'installed' while the other records 'active'. Whatever the interleaving, the
 * device must end 'active'. A real SQLite store; the second replica's read is the stale one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, PROTOCOL_VERSION, type ReportedState } from '@edgeloop/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  trackReportedState,
  trackReportedStates,
} from '../../../control-plane/src/rollouts/rollout-tracker.ts';
import type {
  RolloutDeviceRecord,
  RolloutStore,
  TrackedRolloutEntry,
} from '../../../control-plane/src/store/rollout-store.ts';
import { openSqliteStore } from '../../../control-plane/src/store/sqlite-store.ts';
import type { Store } from '../../../control-plane/src/store/store.ts';
import { queuedDevice, runningRollout } from '../../helpers/rollout-records.ts';

const logger = createLogger({ level: 'silent' });
const at = '2026-12-06T10:00:00.000Z';

function report(
  status: 'running' | 'verifying' | 'downloading',
  phase: 'installed' | 'downloading' | 'verifying' | null,
): ReportedState {
  return {
    protocol: PROTOCOL_VERSION,
    modelVersion: phase ? 1 : 2,
    status,
    agentVersion: '1.0.0',
    framesProcessed: 0,
    samplesQueued: 0,
    reportedAt: at,
    update: { targetVersion: 2, phase: phase ?? 'active', rollback: false, at },
  };
}

/** The store as a replica sees it that read the device's entries before `stale` was overwritten. */
function staleFirstRead(rollouts: RolloutStore, stale: RolloutDeviceRecord[]): RolloutStore {
  let first = true;
  return {
    ...rollouts,
    async entriesOf(deviceId) {
      if (!first) return rollouts.entriesOf(deviceId);
      first = false;
      return stale;
    },
  };
}

/** Like staleFirstRead, for the batched read. */
function staleFirstBatchRead(
  rollouts: RolloutStore,
  stale: Map<string, TrackedRolloutEntry[]>,
): RolloutStore {
  let first = true;
  return {
    ...rollouts,
    async trackedEntriesOf(deviceIds) {
      if (!first) return rollouts.trackedEntriesOf(deviceIds);
      first = false;
      return stale;
    },
  };
}

describe('a device reported by two replicas at once', () => {
  let dir: string;
  let store: Store;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgeloop-tracker-'));
    store = await openSqliteStore(join(dir, 'db.sqlite'), logger);
    await store.devices.createEnrollmentToken({
      tokenHash: 'tok',
      group: 'default',
      usesLeft: 1,
      expiresAt: '2100-01-01T00:00:00.000Z',
    });
    await store.devices.enroll(
      'tok',
      { deviceId: 'cam-a', name: null, hardware: null, secretHash: 'h', tags: [] },
      new Date(at),
    );
    // The rollout's version only has to exist: its manifest is not read here.
    await store.models.insert({
      modelVersion: 2,
      name: 'm2',
      manifest: {} as never,
      metrics: null,
      createdAt: at,
      publishedAt: at,
    });
    await store.rollouts.create(runningRollout('r1', at), [
      queuedDevice('r1', 'cam-a', at, { notifiedAt: at }),
    ]);
    // Told by the leader, then reported part-way through its install.
    await store.rollouts.transition('r1', 'cam-a', 'notified', null, at, true);
    await store.rollouts.transition('r1', 'cam-a', 'verifying', null, at);
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const stateOf = async () => (await store.rollouts.devices('r1'))[0].state;

  it("keeps 'active' when an older 'installed', read before it, is recorded after it", async () => {
    const stale = await store.rollouts.entriesOf('cam-a');
    await trackReportedState({ rollouts: store.rollouts, logger }, 'cam-a', report('running', null), at);
    expect(await stateOf()).toBe('active');
    const late = staleFirstRead(store.rollouts, stale);
    await trackReportedState({ rollouts: late, logger }, 'cam-a', report('verifying', 'installed'), at);
    expect(await stateOf()).toBe('active');
  });

  it("still reaches 'active' when 'installed' was recorded between its read and its write", async () => {
    const stale = await store.rollouts.entriesOf('cam-a');
    await trackReportedState(
      { rollouts: store.rollouts, logger },
      'cam-a',
      report('verifying', 'installed'),
      at,
    );
    expect(await stateOf()).toBe('installed');
    const late = staleFirstRead(store.rollouts, stale);
    await trackReportedState({ rollouts: late, logger }, 'cam-a', report('running', null), at);
    expect(await stateOf()).toBe('active');
    expect((await store.rollouts.history('r1')).get('cam-a')?.map((h) => h.state)).toEqual([
      'queued',
      'notified',
      'verifying',
      'installed',
      'active',
    ]);
  });

  it('records a whole install that arrives in one batch, in order, and ends active', async () => {
    // Told again (the leader retries a device that stalled), then the whole install in one batch.
    await store.rollouts.transition('r1', 'cam-a', 'notified', null, at, true);
    const reports = [
      report('downloading', 'downloading'),
      report('verifying', 'verifying'),
      report('verifying', 'installed'),
      report('running', null),
    ].map((state) => ({ deviceId: 'cam-a', state, receivedAt: at }));
    const changed = await trackReportedStates({ rollouts: store.rollouts, logger }, reports);
    expect([...changed]).toEqual(['r1']);
    expect(await stateOf()).toBe('active');
    expect((await store.rollouts.history('r1')).get('cam-a')?.map((h) => h.state)).toEqual([
      'queued',
      'notified',
      'verifying',
      'notified',
      'downloading',
      'verifying',
      'installed',
      'active',
    ]);
    // The same reports again (a redelivery) change nothing.
    expect((await trackReportedStates({ rollouts: store.rollouts, logger }, reports)).size).toBe(0);
  });

  it("batched: keeps 'active' when an older batch, read before it, is applied after it", async () => {
    const stale = await store.rollouts.trackedEntriesOf(['cam-a']);
    await trackReportedStates({ rollouts: store.rollouts, logger }, [
      { deviceId: 'cam-a', state: report('running', null), receivedAt: at },
    ]);
    expect(await stateOf()).toBe('active');
    const late = staleFirstBatchRead(store.rollouts, stale);
    await trackReportedStates({ rollouts: late, logger }, [
      { deviceId: 'cam-a', state: report('verifying', 'installed'), receivedAt: at },
    ]);
    expect(await stateOf()).toBe('active');
  });

  it("batched: still reaches 'active' when 'installed' was recorded between its read and its write", async () => {
    const stale = await store.rollouts.trackedEntriesOf(['cam-a']);
    await trackReportedState(
      { rollouts: store.rollouts, logger },
      'cam-a',
      report('verifying', 'installed'),
      at,
    );
    const late = staleFirstBatchRead(store.rollouts, stale);
    await trackReportedStates({ rollouts: late, logger }, [
      { deviceId: 'cam-a', state: report('running', null), receivedAt: at },
    ]);
    expect(await stateOf()).toBe('active');
    expect((await store.rollouts.history('r1')).get('cam-a')?.map((h) => h.state)).toEqual([
      'queued',
      'notified',
      'verifying',
      'installed',
      'active',
    ]);
  });
});
