/**
 * A model rollout's store records for store-level tests: a running rollout of version 2 and one
 * queued device entry. Its strategy and waves are not read at that level, so they stay empty.
 */
import type { RolloutDeviceRecord, RolloutRecord } from '../../control-plane/src/store/rollout-store.ts';

export function runningRollout(
  rolloutId: string,
  at: string,
  overrides: Partial<RolloutRecord> = {},
): RolloutRecord {
  return {
    rolloutId,
    modelVersion: 2,
    target: { all: true },
    strategy: { waves: [] } as never,
    state: 'running',
    currentWave: 0,
    waves: [],
    reason: null,
    createdAt: at,
    updatedAt: at,
    ...overrides,
  };
}

export function queuedDevice(
  rolloutId: string,
  deviceId: string,
  at: string,
  overrides: Partial<RolloutDeviceRecord> = {},
): RolloutDeviceRecord {
  return {
    rolloutId,
    deviceId,
    wave: 0,
    state: 'queued',
    previousVersion: 1,
    reason: null,
    notifiedAt: null,
    updatedAt: at,
    baseline: null,
    latest: null,
    ...overrides,
  };
}
