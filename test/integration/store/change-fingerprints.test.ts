/**
 * The dashboard's live updates rest on per-topic fingerprints of the database, read every second
 * while a page is open. On both engines (Postgres had no GROUP_CONCAT, so every read failed and
 * pages on Postgres never updated live): each topic's fingerprint moves when its data changes,
 * and a finished pipeline run's logs are not part of it (they would be read every second forever).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeTopic } from '../../../control-plane/src/store/dashboard-store.ts';
import type { Store } from '../../../control-plane/src/store/store.ts';
import { queuedDevice, runningRollout } from '../../helpers/rollout-records.ts';
import { storeEngines } from '../../helpers/store-engines.ts';

const at = (minute: number) => new Date(Date.UTC(2026, 11, 7, 10, minute)).toISOString();

describe.each(storeEngines())('change fingerprints on the %s store', (_name, open) => {
  let store: Store;
  let done: () => Promise<void>;
  beforeAll(async () => {
    ({ store, done } = await open());
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await done?.();
  });

  /** Which topics' fingerprints differ after `change`. */
  async function moved(change: () => Promise<unknown>): Promise<ChangeTopic[]> {
    const before = await store.dashboard.fingerprints();
    await change();
    const after = await store.dashboard.fingerprints();
    return (Object.keys(after) as ChangeTopic[]).filter((topic) => after[topic] !== before[topic]);
  }

  it('moves the fleet topic when a device enrolls', async () => {
    await store.devices.createEnrollmentToken({
      tokenHash: 'tok',
      group: 'yard',
      usesLeft: 5,
      expiresAt: at(59),
    });
    const enrolled = () =>
      store.devices.enroll(
        'tok',
        { deviceId: 'cam-a', name: null, hardware: null, secretHash: 'h', tags: [] },
        new Date(at(1)),
      );
    expect(await moved(enrolled)).toEqual(['fleet']);
  });

  it('moves the pipeline topic while a run goes, and not for a finished run', async () => {
    const steps = ['snapshot', 'train'];
    expect(
      await moved(() =>
        store.pipeline.createRun({
          id: 'run-1',
          trigger: 'manual',
          requestedBy: 'olga',
          createdAt: at(2),
          steps,
        }),
      ),
    ).toEqual(['pipeline']);
    expect(
      await moved(() => store.pipeline.setStep('run-1', 0, { status: 'running', startedAt: at(3) })),
    ).toEqual(['pipeline']);
    expect(await moved(() => store.pipeline.appendStepLog('run-1', 0, 'epoch 1/8\n'))).toEqual(['pipeline']);
    expect(
      await moved(() => store.pipeline.setRun('run-1', { status: 'succeeded', finishedAt: at(4) })),
    ).toEqual(['pipeline']);
    // Bounded work: a finished run's log is no longer read (nothing writes to one in practice).
    expect(await moved(() => store.pipeline.appendStepLog('run-1', 0, 'late line\n'))).toEqual([]);
  });

  it('moves the rollouts topic when a rollout starts and when a device changes state', async () => {
    const model = {
      modelVersion: 2,
      name: 'm2',
      manifest: { name: 'm2', files: [], labels: ['red', 'blue'] } as never,
      metrics: null,
      createdAt: at(5),
      publishedAt: at(5),
    };
    expect(await moved(() => store.models.insert(model))).toEqual(['models']);
    expect(
      await moved(() =>
        store.rollouts.create(runningRollout('r1', at(5)), [queuedDevice('r1', 'cam-a', at(5))]),
      ),
    ).toEqual(['rollouts']);
    expect(
      await moved(() => store.rollouts.transition('r1', 'cam-a', 'notified', null, at(6), true)),
    ).toEqual(['rollouts']);
  });
});
