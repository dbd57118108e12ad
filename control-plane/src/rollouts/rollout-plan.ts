/**
 * A new rollout, planned: the request checked against the fleet (known version, known devices,
 * none already in a live rollout, pinned devices left out), devices ordered online-first into
 * waves, each remembering the version it runs now so an abort can send it back. Nothing is
 * written here.
 */
import { randomUUID } from 'node:crypto';
import { ConflictError, type CreateRollout, NotFoundError, ValidationError } from '@edgeloop/shared';
import type { RolloutDeviceRecord, RolloutRecord } from '../store/rollout-store.ts';
import type { Store } from '../store/store.ts';
import { assignWaves, initialWaves } from './waves.ts';

export async function planRollout(
  store: Store,
  request: CreateRollout,
  now: Date,
): Promise<{ record: RolloutRecord; devices: RolloutDeviceRecord[] }> {
  const { rollouts } = store;
  if (!(await store.models.get(request.modelVersion))) {
    throw new NotFoundError(`model version ${request.modelVersion} does not exist`);
  }
  const ids = await store.devices.resolveTarget(request.target);
  if ('deviceIds' in request.target) {
    const unknown = request.target.deviceIds.filter((id) => !ids.includes(id));
    if (unknown.length > 0) throw new NotFoundError(`unknown devices: ${unknown.join(', ')}`);
  }
  if (ids.length === 0) throw new ValidationError('the rollout target matches no devices');
  // A pin outranks a rollout: pinned devices of a group, tag set or the fleet are left out, and
  // naming one explicitly is refused, so nobody believes a pinned device was updated.
  const targeted = await store.devices.getMany(ids);
  const pinned = targeted.filter((d) => d.pin).map((d) => d.deviceId);
  if ('deviceIds' in request.target && pinned.length > 0) {
    throw new ConflictError(`devices are pinned (unpin them first): ${pinned.slice(0, 10).join(', ')}`);
  }
  if (pinned.length === ids.length) throw new ValidationError('every device the target matches is pinned');
  const pinnedSet = new Set(pinned);
  const unpinned = new Set(ids.filter((id) => !pinnedSet.has(id)));
  // A device a live rollout skipped (it was pinned meanwhile) is no longer held by it.
  const busy = new Set<string>();
  for (const r of await rollouts.listLive()) {
    for (const d of await rollouts.devices(r.rolloutId)) if (d.state !== 'skipped') busy.add(d.deviceId);
  }
  const clash = [...unpinned].filter((id) => busy.has(id));
  if (clash.length > 0) {
    throw new ConflictError(
      `devices already in a running or paused rollout: ${clash.slice(0, 10).join(', ')}`,
    );
  }
  // Online devices first: the canary and early waves give feedback within the soak time.
  const devices = targeted.filter((d) => unpinned.has(d.deviceId));
  devices.sort((a, b) => Number(b.online) - Number(a.online) || a.deviceId.localeCompare(b.deviceId));
  const waveOf = assignWaves(
    devices.map((d) => d.deviceId),
    request.strategy.waves,
  );
  const at = now.toISOString();
  const rolloutId = `rol-${randomUUID()}`;
  return {
    record: {
      rolloutId,
      modelVersion: request.modelVersion,
      target: request.target,
      strategy: request.strategy,
      state: 'running',
      currentWave: 0,
      waves: initialWaves(request.strategy.waves, devices.length, at),
      reason: null,
      createdAt: at,
      updatedAt: at,
    },
    devices: devices.map((d, i) => ({
      rolloutId,
      deviceId: d.deviceId,
      wave: waveOf[i],
      state: 'queued',
      previousVersion: d.reportedVersion ?? d.desiredVersion,
      reason: 'waiting for its wave',
      notifiedAt: null,
      updatedAt: at,
      baseline: null,
      latest: null,
    })),
  };
}
