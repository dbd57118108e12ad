/**
 * Desired state: the model version the control plane wants each device to run. The database is the
 * source of truth; MQTT carries a retained copy per device (QoS 1) so a device gets it the moment
 * it subscribes. Retained messages live only in the broker, so every device's desired state is
 * republished on start and after every reconnect.
 */
import {
  apiRoutes,
  type DesiredState,
  DesiredStateSchema,
  type Logger,
  PROTOCOL_VERSION,
  parseWith,
  routeUrl,
  topics,
} from '@edgeloop/shared';
import type { MqttConnection } from '../mqtt/mqtt-client.ts';
import type { DeviceRecord, Store } from '../store/store.ts';
import { type CameraModels, cameraModelsOf } from './camera-models.ts';

const PUBLISH_TIMEOUT_MS = 5_000;

export function manifestPathOf(modelVersion: number): string {
  return routeUrl(apiRoutes.getManifest, { version: modelVersion });
}

/** `cameraModels`: the cameras that run another model (camera-models.ts). */
export function desiredStateOf(
  device: Pick<DeviceRecord, 'desiredVersion' | 'desiredUpdatedAt' | 'enrolledAt'> &
    Partial<Pick<DeviceRecord, 'desiredManifestPath'>>,
  cameraModels?: CameraModels,
): DesiredState {
  return parseWith(
    DesiredStateSchema,
    {
      protocol: PROTOCOL_VERSION,
      modelVersion: device.desiredVersion,
      manifestPath:
        device.desiredVersion === null
          ? null
          : (device.desiredManifestPath ?? manifestPathOf(device.desiredVersion)),
      updatedAt: device.desiredUpdatedAt ?? device.enrolledAt,
      cameraModels,
    },
    'desired state',
  );
}

export interface DesiredStatePublisher {
  /** Publishes the stored desired state of these devices; resolves when the broker has them. */
  publish(deviceIds: readonly string[]): Promise<void>;
  republishAll(): Promise<void>;
}

export function createDesiredStatePublisher(deps: {
  connection: MqttConnection;
  store: Store;
  logger: Logger;
}): DesiredStatePublisher {
  const { connection, store } = deps;
  const log = deps.logger;

  async function publishDevice(device: DeviceRecord): Promise<void> {
    const payload = JSON.stringify(desiredStateOf(device, cameraModelsOf(store, device, log)));
    await connection.publish(topics.desired(device.deviceId), payload, {
      qos: 1,
      retain: true,
      timeoutMs: PUBLISH_TIMEOUT_MS,
    });
  }

  async function publishAll(devices: DeviceRecord[]): Promise<void> {
    const results = await Promise.allSettled(devices.map(publishDevice));
    const failed = devices.filter((_, i) => results[i].status === 'rejected').map((d) => d.deviceId);
    // The database already holds the change and a reconnect republishes everything, so a slow
    // broker is logged rather than failing the caller.
    if (failed.length > 0) log.warn({ devices: failed }, 'desired state not confirmed by the broker yet');
  }

  return {
    async publish(deviceIds) {
      const devices = deviceIds.map((id) => store.getDevice(id)).filter((d): d is DeviceRecord => d !== null);
      await publishAll(devices);
    },
    async republishAll() {
      const devices = store.listDevices();
      await publishAll(devices);
      log.info({ devices: devices.length }, 'republished desired state');
    },
  };
}
