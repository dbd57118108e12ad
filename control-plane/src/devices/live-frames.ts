/**
 * The last live frame of each camera of each device, in memory only: it is replaced every few
 * seconds, so writing it to disk would be churn for nothing, and losing it on a restart costs one
 * interval. Bounded by device count (least recently updated evicted first, with all its cameras)
 * so a big fleet cannot grow it without limit; a device has at most 16 cameras (agent config).
 */
import { type ClassScore, DEFAULT_CAMERA_ID, type LiveFrame } from '@edgeloop/shared';

export interface StoredLiveFrame {
  deviceId: string;
  /** 'default' when the frame named no camera (an agent with one camera). */
  cameraId: string;
  frameId: string;
  capturedAt: string;
  receivedAt: string;
  modelVersion: number | null;
  topK: ClassScore[];
  width: number;
  height: number;
  jpeg: Buffer;
}

export interface LiveFrames {
  put(deviceId: string, frame: LiveFrame, receivedAt: string): StoredLiveFrame;
  /** One camera's frame, or the device's newest of any camera when no camera is named. */
  get(deviceId: string, cameraId?: string): StoredLiveFrame | null;
  /** Every camera's frame of a device, by camera id. */
  list(deviceId: string): StoredLiveFrame[];
  /** Devices held. */
  size(): number;
}

const MAX_CAMERAS_PER_DEVICE = 16;

export function createLiveFrames(options: { maxDevices?: number } = {}): LiveFrames {
  const maxDevices = options.maxDevices ?? 2_000;
  const devices = new Map<string, Map<string, StoredLiveFrame>>();
  return {
    put(deviceId, frame, receivedAt) {
      const stored: StoredLiveFrame = {
        deviceId,
        cameraId: frame.cameraId ?? DEFAULT_CAMERA_ID,
        frameId: frame.frameId,
        capturedAt: frame.capturedAt,
        receivedAt,
        modelVersion: frame.modelVersion,
        topK: frame.topK,
        width: frame.width,
        height: frame.height,
        jpeg: Buffer.from(frame.jpeg, 'base64'),
      };
      const cameras = devices.get(deviceId) ?? new Map<string, StoredLiveFrame>();
      // Re-inserting moves the device (and the camera) to the end of the Map's order: oldest first.
      devices.delete(deviceId);
      devices.set(deviceId, cameras);
      cameras.delete(stored.cameraId);
      cameras.set(stored.cameraId, stored);
      while (cameras.size > MAX_CAMERAS_PER_DEVICE) cameras.delete(cameras.keys().next().value as string);
      while (devices.size > maxDevices) devices.delete(devices.keys().next().value as string);
      return stored;
    },
    get(deviceId, cameraId) {
      const cameras = devices.get(deviceId);
      if (!cameras) return null;
      if (cameraId !== undefined) return cameras.get(cameraId) ?? null;
      return [...cameras.values()].at(-1) ?? null;
    },
    list: (deviceId) =>
      [...(devices.get(deviceId)?.values() ?? [])].sort((a, b) => a.cameraId.localeCompare(b.cameraId)),
    size: () => devices.size,
  };
}
