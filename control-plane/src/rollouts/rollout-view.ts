/** Rollout records → the API's Rollout shape. Pure. */
import type { Rollout } from '@edgeloop/shared';
import type { RolloutStore } from '../store/rollout-store.ts';

export function rolloutView(rollouts: RolloutStore, rolloutId: string): Rollout | null {
  const record = rollouts.get(rolloutId);
  if (!record) return null;
  const devices = rollouts.devices(rolloutId);
  const history = rollouts.history(rolloutId);
  const counts: Record<string, number> = {};
  for (const d of devices) counts[d.state] = (counts[d.state] ?? 0) + 1;
  return {
    ...record,
    counts,
    devices: devices.map((d) => ({
      deviceId: d.deviceId,
      wave: d.wave,
      state: d.state,
      previousVersion: d.previousVersion,
      reason: d.reason,
      updatedAt: d.updatedAt,
      history: history.get(d.deviceId) ?? [],
    })),
  };
}
