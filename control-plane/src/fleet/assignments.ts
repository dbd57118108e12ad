/**
 * Assigning a model version to devices: record it as their desired state, then publish that. An
 * assignment to a group, tag set or every device also makes the version that selector's target
 * (an unstaged rollout that completed at once), so devices that enroll or move in later get it.
 * Pinned devices and devices a rollout in progress holds keep what those say (precedence in
 * desired-version.ts); naming a pinned device explicitly is refused.
 */
import { type AssignModel, ConflictError, NotFoundError } from '@edgeloop/shared';
import type { Store } from '../store/store.ts';
import type { Convergence } from './convergence.ts';
import type { DesiredStatePublisher } from './desired-state.ts';

export async function assignModel(
  deps: { store: Store; desired: DesiredStatePublisher; convergence: Convergence },
  request: AssignModel,
  now = new Date(),
): Promise<string[]> {
  const { store, convergence } = deps;
  const { target } = request;
  if (!(await store.models.get(request.modelVersion))) {
    throw new NotFoundError(`model version ${request.modelVersion} does not exist`);
  }
  let deviceIds = await store.devices.resolveTarget(target);
  if ('deviceIds' in target) {
    const unknown = target.deviceIds.filter((id) => !deviceIds.includes(id));
    if (unknown.length > 0) throw new NotFoundError(`unknown devices: ${unknown.join(', ')}`);
    const pinned = (await store.devices.getMany(deviceIds)).filter((d) => d.pin).map((d) => d.deviceId);
    if (pinned.length > 0)
      throw new ConflictError(`devices are pinned (unpin them first): ${pinned.join(', ')}`);
  } else {
    await store.targets.set(target, request.modelVersion, null, now.toISOString());
    const following: string[] = [];
    for (const device of await store.devices.getMany(deviceIds)) {
      const r = await convergence.resolve(device);
      if (r.source === 'target' && r.modelVersion === request.modelVersion) following.push(device.deviceId);
    }
    deviceIds = following;
  }
  // Stored with a new updatedAt even when the version is the same: an agent retries a failed
  // install only when its desired state changes, so assigning again is how an operator retries.
  await store.devices.setDesiredVersion(deviceIds, request.modelVersion, now.toISOString());
  await deps.desired.publish(deviceIds);
  return deviceIds;
}
