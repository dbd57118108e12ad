/**
 * Per-camera models: the `model` of each entry of a device's effective remote `cameras`, resolved
 * to a registry version (a number as it is, a name through the registry's aliases) with the path
 * of its signed manifest. The result rides in the device's desired state (`cameraModels`); the
 * device's own model — what rollouts, targets and pins set — is not touched. A name or version the
 * registry does not have is left out (the camera keeps the device's model) and logged.
 */
import {
  apiRoutes,
  type CameraEntry,
  type DesiredState,
  type Logger,
  NotFoundError,
  routeUrl,
} from '@edgeloop/shared';
import { resolveModel } from '../models/promotion.ts';
import type { FragmentRecord } from '../store/config-store.ts';
import type { DeviceRecord, Store } from '../store/store.ts';
import { effectiveConfigOf } from './desired-config.ts';

export type CameraModels = NonNullable<DesiredState['cameraModels']>;

export async function cameraModelsOf(
  store: Store,
  device: Pick<DeviceRecord, 'deviceId' | 'group' | 'tags'>,
  logger: Logger,
  fragmentsRead?: readonly FragmentRecord[],
): Promise<CameraModels | undefined> {
  const fragments = fragmentsRead ?? (await store.config.listFragments());
  const cameras = (effectiveConfigOf(device, fragments).settings.cameras ?? []) as Partial<CameraEntry>[];
  const out: CameraModels = {};
  for (const camera of cameras) {
    if (camera.model === undefined || typeof camera.id !== 'string') continue;
    try {
      const { modelVersion } = await resolveModel(store, String(camera.model));
      out[camera.id] = {
        modelVersion,
        manifestPath: routeUrl(apiRoutes.getManifest, { version: modelVersion }),
      };
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      logger.warn(
        { deviceId: device.deviceId, cameraId: camera.id, model: camera.model },
        "camera's model is not in the registry; the camera runs the device's model",
      );
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
