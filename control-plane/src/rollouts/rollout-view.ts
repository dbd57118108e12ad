/** Rollout records → the API's Rollout shape. */
import type { Rollout } from '@edgeloop/shared';
import type { RolloutStore } from '../store/rollout-store.ts';

export async function rolloutView(rollouts: RolloutStore, rolloutId: string): Promise<Rollout | null> {
  const record = await rollouts.get(rolloutId);
  if (!record) return null;
  const devices = await rollouts.devices(rolloutId);
  const history = await rollouts.history(rolloutId);
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
