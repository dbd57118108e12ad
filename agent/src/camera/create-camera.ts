/** Picks the camera backend by the config's `type`. */
import type { CameraConfig } from '@edgeloop/shared';
import type { ImageCodec } from '../image/image-codec.ts';
import type { Camera } from './camera.ts';
import { FolderCamera } from './folder-camera.ts';
import { SyntheticCamera } from './synthetic-camera.ts';

export function createCamera(config: CameraConfig, codec: ImageCodec): Camera {
  switch (config.type) {
    case 'synthetic':
      return new SyntheticCamera(config, codec);
    case 'folder':
      return new FolderCamera(config);
  }
}
