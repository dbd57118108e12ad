/**
 * The last live frame of each device, in memory only: it is replaced every few seconds, so writing
 * it to disk would be churn for nothing, and losing it on a restart costs one interval. Bounded by
 * device count (least recently updated evicted first) so a big fleet cannot grow it without limit.
 */
import type { ClassScore, LiveFrame } from '@edgeloop/shared';

export interface StoredLiveFrame {
  deviceId: string;
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
  get(deviceId: string): StoredLiveFrame | null;
  size(): number;
}

export function createLiveFrames(options: { maxDevices?: number } = {}): LiveFrames {
  const maxDevices = options.maxDevices ?? 2_000;
  const frames = new Map<string, StoredLiveFrame>();
  return {
    put(deviceId, frame, receivedAt) {
      const stored: StoredLiveFrame = {
        deviceId,
        frameId: frame.frameId,
        capturedAt: frame.capturedAt,
        receivedAt,
        modelVersion: frame.modelVersion,
        topK: frame.topK,
        width: frame.width,
        height: frame.height,
        jpeg: Buffer.from(frame.jpeg, 'base64'),
      };
      // Re-inserting moves the device to the end of the Map's order: the oldest is first.
      frames.delete(deviceId);
      frames.set(deviceId, stored);
      while (frames.size > maxDevices) frames.delete(frames.keys().next().value as string);
      return stored;
    },
    get: (deviceId) => frames.get(deviceId) ?? null,
    size: () => frames.size,
  };
}
