/**
 * Frames drawn from shared's synthetic scenes, encoded to JPEG like a real camera's. The frame id
 * encodes (seed, index), so the true class of any uploaded sample can be recomputed.
 */
import { syntheticFrameId, syntheticScene } from '@edgeloop/shared';
import type { ImageCodec } from '../image/image-codec.ts';
import type { Camera, Frame } from './camera.ts';
import { Pacer } from './pacer.ts';

export interface SyntheticCameraOptions {
  width: number;
  height: number;
  fps: number;
  seed: number;
  difficulty: number;
  classes?: readonly string[];
  /** Stop after this many frames (tests); endless when absent. */
  limit?: number;
}

export class SyntheticCamera implements Camera {
  constructor(
    private readonly options: SyntheticCameraOptions,
    private readonly codec: ImageCodec,
  ) {}

  async *frames(signal: AbortSignal): AsyncIterable<Frame> {
    const { width, height, difficulty, classes, seed, limit } = this.options;
    const pacer = new Pacer(this.options.fps);
    for (let index = 0; limit === undefined || index < limit; index++) {
      if (!(await pacer.wait(signal))) return;
      const scene = syntheticScene(seed, index, { width, height, difficulty, classes });
      const image = await this.codec.encodeJpeg({ width, height, data: scene.data }, 90);
      yield {
        frameId: syntheticFrameId(seed, index),
        capturedAt: new Date().toISOString(),
        image,
        mime: 'image/jpeg',
      };
    }
  }
}
