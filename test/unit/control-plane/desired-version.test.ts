/** Which version a device should run: pin > rollout in progress > group/tag target > nothing. */
import type { DevicePin } from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import { resolveDesired, winningTarget } from '../../../control-plane/src/fleet/desired-version.ts';
import type { FleetTargetRecord } from '../../../control-plane/src/store/fleet-target-store.ts';
import { selectorKey } from '../../../control-plane/src/store/fleet-target-store.ts';

const target = (selector: FleetTargetRecord['selector'], modelVersion: number, setAt: string) =>
  ({ selector, modelVersion, previousVersion: null, rolloutId: null, setAt }) satisfies FleetTargetRecord;

const pin: DevicePin = {
  modelVersion: 3,
  reason: 'field trial',
  pinnedBy: 'alice',
  pinnedAt: '2026-12-01T00:00:00Z',
};
const dock = { group: 'dock', tags: ['outdoor', 'site-a'], pin: null };
const targets = [
  target({ group: 'dock' }, 5, '2026-12-01T10:00:00.000Z'),
  target({ group: 'lobby' }, 7, '2026-12-01T12:00:00.000Z'),
];

describe('resolveDesired', () => {
  it('follows the target of the device group', () => {
    expect(resolveDesired({ device: dock, liveRolloutId: null, targets })).toMatchObject({
      source: 'target',
      modelVersion: 5,
      target: { selector: { group: 'dock' } },
    });
  });

  it('lets a rollout in progress outrank the group target', () => {
    expect(resolveDesired({ device: dock, liveRolloutId: 'rol-1', targets })).toEqual({
      source: 'rollout',
      rolloutId: 'rol-1',
    });
  });

  it('lets a pin outrank both a rollout in progress and the group target', () => {
    expect(resolveDesired({ device: { ...dock, pin }, liveRolloutId: 'rol-1', targets })).toEqual({
      source: 'pin',
      modelVersion: 3,
      pin,
    });
  });

  it('leaves a device that no target covers alone', () => {
    const device = { group: 'yard', tags: [], pin: null };
    expect(resolveDesired({ device, liveRolloutId: null, targets })).toEqual({ source: 'none' });
  });

  it('gives the group target back once the device is unpinned', () => {
    const pinned = resolveDesired({ device: { ...dock, pin }, liveRolloutId: null, targets });
    const unpinned = resolveDesired({ device: dock, liveRolloutId: null, targets });
    expect([pinned.source, unpinned.source]).toEqual(['pin', 'target']);
    expect(unpinned).toMatchObject({ modelVersion: 5 });
  });
});

describe('winningTarget', () => {
  it('picks the most recently set of the matching targets', () => {
    const all = [
      target({ all: true }, 4, '2026-12-01T09:00:00.000Z'),
      target({ group: 'dock' }, 5, '2026-12-01T10:00:00.000Z'),
      target({ tags: ['outdoor'] }, 6, '2026-12-01T11:00:00.000Z'),
      target({ tags: ['indoor'] }, 9, '2026-12-01T13:00:00.000Z'),
    ];
    expect(winningTarget(dock, all)?.modelVersion).toBe(6);
    // A fleet-wide rollout that completes later reaches every device.
    const later = [...all, target({ all: true }, 8, '2026-12-01T14:00:00.000Z')];
    expect(winningTarget(dock, later)?.modelVersion).toBe(8);
  });

  it('needs every tag of a tag target, and prefers tags, then group, on a tie', () => {
    const at = '2026-12-01T10:00:00.000Z';
    expect(winningTarget(dock, [target({ tags: ['outdoor', 'site-b'] }, 6, at)])).toBeNull();
    const tie = [
      target({ all: true }, 4, at),
      target({ group: 'dock' }, 5, at),
      target({ tags: ['site-a'] }, 6, at),
    ];
    expect(winningTarget(dock, tie)?.modelVersion).toBe(6);
    expect(winningTarget(dock, tie.slice(0, 2))?.modelVersion).toBe(5);
  });
});

describe('selectorKey', () => {
  it('treats a tag set as a set', () => {
    expect(selectorKey({ tags: ['site-a', 'outdoor'] })).toBe(selectorKey({ tags: ['outdoor', 'site-a'] }));
    expect(selectorKey({ group: 'dock' })).toBe('group:dock');
    expect(selectorKey({ all: true })).toBe('all');
  });
});
