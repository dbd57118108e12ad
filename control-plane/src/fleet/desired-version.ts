/**
 * Which model version a device should run, and why. Pure: the caller gathers the device, the live
 * rollout holding it (if any) and the fleet's targets. Precedence, highest first:
 *   1. the device's pin — an operator's explicit, visible choice;
 *   2. a rollout in progress (running or paused) that holds the device — it sets desired state
 *      itself, wave by wave, and an abort sends the device back;
 *   3. the group/tag/fleet-wide targets the device matches — the most recently set one wins, so a
 *      device runs what it would run had it been there for every completed rollout (on a tie the
 *      more specific selector wins: tags, then group, then all);
 *   4. nothing: the device keeps its current desired state.
 */
import type { DevicePin, FleetSelector } from '@edgeloop/shared';
import { hasAllTags } from '../store/device-tags.ts';
import type { FleetTargetRecord } from '../store/fleet-target-store.ts';

export type Resolution =
  | { source: 'pin'; modelVersion: number; pin: DevicePin }
  | { source: 'rollout'; rolloutId: string }
  | { source: 'target'; modelVersion: number; target: FleetTargetRecord }
  | { source: 'none' };

export interface ResolveInput {
  device: { group: string; tags: readonly string[]; pin: DevicePin | null };
  /** The running or paused rollout that holds the device (not one that skipped it), if any. */
  liveRolloutId: string | null;
  targets: readonly FleetTargetRecord[];
}

function selectorMatches(selector: FleetSelector, device: ResolveInput['device']): boolean {
  if ('group' in selector) return device.group === selector.group;
  if ('tags' in selector) return hasAllTags(device.tags, selector.tags);
  return true;
}

function specificity(selector: FleetSelector): number {
  return 'tags' in selector ? 2 : 'group' in selector ? 1 : 0;
}

/** The target that governs a device: newest first, then the most specific. */
export function winningTarget(
  device: ResolveInput['device'],
  targets: readonly FleetTargetRecord[],
): FleetTargetRecord | null {
  let best: FleetTargetRecord | null = null;
  for (const t of targets) {
    if (!selectorMatches(t.selector, device)) continue;
    if (
      best === null ||
      t.setAt > best.setAt ||
      (t.setAt === best.setAt && specificity(t.selector) > specificity(best.selector))
    ) {
      best = t;
    }
  }
  return best;
}

export function resolveDesired(input: ResolveInput): Resolution {
  const { device } = input;
  if (device.pin) return { source: 'pin', modelVersion: device.pin.modelVersion, pin: device.pin };
  if (input.liveRolloutId) return { source: 'rollout', rolloutId: input.liveRolloutId };
  const target = winningTarget(device, input.targets);
  if (target) return { source: 'target', modelVersion: target.modelVersion, target };
  return { source: 'none' };
}
