/** Picks the camera backend by the config's `type`. */
import type { CameraConfig } from '@edgeloop/shared';
import type { ImageCodec } from '../image/image-codec.ts';
import type { Camera } from './camera.ts';
import { captureCommand } from './capture-commands.ts';
import { FolderCamera } from './folder-camera.ts';
import { ProcessCamera } from './process-camera.ts';
import { SyntheticCamera } from './synthetic-camera.ts';

export function createCamera(config: CameraConfig, codec: ImageCodec): Camera {
  switch (config.type) {
    case 'synthetic':
      return new SyntheticCamera(config, codec);
    case 'folder':
      return new FolderCamera(config);
    case 'v4l2':
    case 'rpicam':
    case 'jetson-csi':
    case 'rtsp':
    case 'http-mjpeg':
    case 'ffmpeg':
      return new ProcessCamera({
        capture: captureCommand(config),
        stallTimeoutMs: config.stallTimeoutMs,
        maxFrameBytes: config.maxFrameBytes,
      });
  }
}
