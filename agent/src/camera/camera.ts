/** The role every frame source plays. A frame arrives encoded, as a real camera delivers it. */
import type { ImageMime } from '../image/image-codec.ts';

export interface Frame {
  frameId: string;
  /** ISO 8601 time the frame was taken. */
  capturedAt: string;
  image: Buffer;
  mime: ImageMime;
}

export interface Camera {
  /** Yields frames until `signal` aborts (then the iteration ends without an error) or the source runs out. */
  frames(signal: AbortSignal): AsyncIterable<Frame>;
}
