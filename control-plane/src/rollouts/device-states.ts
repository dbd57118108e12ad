/**
 * Groups of a rollout device's states (RolloutDeviceStateSchema), named once so the engine, its
 * aborts and the fleet's pin/convergence logic agree on what a rollout still holds.
 */
import type { RolloutDeviceState } from '@edgeloop/shared';

/** Told to install, not yet answered. */
export const IN_FLIGHT = new Set<RolloutDeviceState>(['notified', 'downloading', 'verifying', 'installed']);
/** Done within its wave, one way or the other. */
export const FINISHED = new Set<RolloutDeviceState>(['active', 'failed', 'timed_out']);
/** Its desired version was changed by the rollout: an abort sends these back. */
export const TOUCHED = new Set<RolloutDeviceState>([...IN_FLIGHT, ...FINISHED]);
/** Still held by a live rollout (waiting or touched): a pin takes these out of it. */
export const HELD = new Set<RolloutDeviceState>(['queued', ...TOUCHED]);

/** How far along an update a state is: a device's reports only move it forward. */
export const RANK: Partial<Record<RolloutDeviceState, number>> = {
  notified: 1,
  downloading: 2,
  verifying: 3,
  installed: 4,
  active: 5,
};
