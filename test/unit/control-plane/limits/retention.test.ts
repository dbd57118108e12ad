/**
 * Retention on a real SQLite store: device events older than the configured days, and past the
 * newest N of a device, are deleted; rollback manifests nobody renewed within their days go too.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, generateSigningKey, RetentionConfigSchema } from '@edgeloop/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRetention } from '../../../../control-plane/src/limits/retention.ts';
import { createManifestSigner } from '../../../../control-plane/src/models/manifest-signer.ts';
import { openSqliteStore } from '../../../../control-plane/src/store/sqlite-store.ts';
import type { Store } from '../../../../control-plane/src/store/store.ts';
import { testManifest } from '../../../helpers/manifest-fixture.ts';

const logger = createLogger({ level: 'silent' });
const DAY = 86_400_000;
let dir: string;
let store: Store;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgeloop-retention-'));
  store = await openSqliteStore(join(dir, 'db.sqlite'), logger);
  await store.devices.createEnrollmentToken({
    tokenHash: 'h',
    group: 'default',
    usesLeft: 5,
    expiresAt: '2999-01-01T00:00:00Z',
  });
  for (const id of ['cam-1', 'cam-2']) {
    await store.devices.enroll(
      'h',
      { deviceId: id, name: null, hardware: null, secretHash: 'x' },
      new Date(),
    );
  }
  for (const v of [1, 2]) {
    const at = new Date().toISOString();
    await store.models.insert({
      modelVersion: v,
      name: `m${v}`,
      manifest: testManifest(new Uint8Array([v]), { modelVersion: v, name: `m${v}` }),
      metrics: null,
      createdAt: at,
      publishedAt: at,
    });
  }
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function event(deviceId: string, receivedAt: Date, message: string) {
  const at = receivedAt.toISOString();
  await store.events.record(deviceId, { protocol: 1, type: 'agent-error', message, at }, at);
}

describe('retention', () => {
  it('deletes old device events and all but the newest N of each device', async () => {
    const now = new Date('2026-12-01T00:00:00Z');
    event('cam-1', new Date(now.getTime() - 40 * DAY), 'ancient');
    for (let i = 0; i < 8; i++) event('cam-1', new Date(now.getTime() - DAY + i * 1000), `recent-${i}`);
    event('cam-2', new Date(now.getTime() - 2 * DAY), 'cam-2 recent');
    const retention = createRetention({
      store,
      config: RetentionConfigSchema.parse({ deviceEventsDays: 30, deviceEventsPerDevice: 5 }),
      logger,
    });
    const pruned = await retention.prune(now);
    expect(pruned.deviceEvents).toBe(1 + 3);
    expect((await store.events.list('cam-1', 100)).map((e) => e.message)).toEqual([
      'recent-7',
      'recent-6',
      'recent-5',
      'recent-4',
      'recent-3',
    ]);
    expect((await store.events.list('cam-2', 100)).map((e) => e.message)).toEqual(['cam-2 recent']);
  });

  it('deletes rollback manifests not renewed within their days, keeps fresh ones', async () => {
    const signer = createManifestSigner({ store, signingKey: generateSigningKey(), ttlDays: 365 });
    const now = new Date('2026-12-01T00:00:00Z');
    await signer.orderRollback(1, 'rollout:old', new Date(now.getTime() - 45 * DAY));
    await signer.orderRollback(2, 'rollout:new', new Date(now.getTime() - 2 * DAY));
    const retention = createRetention({
      store,
      config: RetentionConfigSchema.parse({ rollbackManifestDays: 30 }),
      logger,
    });
    expect((await retention.prune(now)).rollbackManifests).toBe(1);
    expect(await store.rollouts.getRollbackManifest(1)).toBeNull();
    expect(await store.rollouts.getRollbackManifest(2)).not.toBeNull();
  });
});
