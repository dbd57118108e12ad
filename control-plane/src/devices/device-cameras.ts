/**
 * A device's cameras as the control plane last heard of them: the heartbeat's per-camera figures,
 * each camera's last prediction (stored) and live frame (in memory). A camera appears once any of
 * the three names it; the heartbeat's order (the agent's config order) comes first.
 */
import type { CameraHealth, DeviceHealth } from '@edgeloop/shared';
import type { Store } from '../store/store.ts';
import type { LiveFrames, StoredLiveFrame } from './live-frames.ts';

export async function camerasOf(
  store: Store,
  liveFrames: LiveFrames | undefined,
  deviceId: string,
  health: DeviceHealth | null,
) {
  const reported = new Map<string, CameraHealth>((health?.cameras ?? []).map((c) => [c.cameraId, c]));
  const predictions = new Map((await store.devices.cameraPredictions(deviceId)).map((p) => [p.cameraId, p]));
  const frames = new Map((liveFrames?.list(deviceId) ?? []).map((f) => [f.cameraId, f]));
  const ids = [...new Set([...reported.keys(), ...predictions.keys(), ...frames.keys()])];
  return ids.map((cameraId) => {
    const p = predictions.get(cameraId);
    const frame = frames.get(cameraId);
    return {
      cameraId,
      lastPrediction: p?.prediction ?? null,
      lastPredictionAt: p?.receivedAt ?? null,
      health: reported.get(cameraId) ?? null,
      liveFrame: frame ? liveFrameInfo(frame) : null,
    };
  });
}

/** A stored live frame without its JPEG (served separately), with the JPEG's size. */
export function liveFrameInfo(frame: StoredLiveFrame) {
  const { jpeg, ...info } = frame;
  return { ...info, bytes: jpeg.length };
}
