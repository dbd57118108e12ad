/** Assigning a model version to devices: record it as their desired state, then publish that. */
import { type AssignModel, NotFoundError } from '@edgeloop/shared';
import type { Store } from '../store/store.ts';
import type { DesiredStatePublisher } from './desired-state.ts';

export async function assignModel(
  deps: { store: Store; desired: DesiredStatePublisher },
  request: AssignModel,
  now = new Date(),
): Promise<string[]> {
  const { store } = deps;
  if (!store.getModelVersion(request.modelVersion)) {
    throw new NotFoundError(`model version ${request.modelVersion} does not exist`);
  }
  const deviceIds = store.resolveTarget(request.target);
  if ('deviceIds' in request.target) {
    const unknown = request.target.deviceIds.filter((id) => !deviceIds.includes(id));
    if (unknown.length > 0) throw new NotFoundError(`unknown devices: ${unknown.join(', ')}`);
  }
  store.setDesiredVersion(deviceIds, request.modelVersion, now.toISOString());
  await deps.desired.publish(deviceIds);
  return deviceIds;
}
