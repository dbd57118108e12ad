/**
 * Publishes a small JPEG of the latest classified frame with its prediction, at most once per
 * interval, for the dashboard's Device page. Encoding is skipped entirely between publishes, and a
 * thumbnail still being encoded makes newer frames wait for the next interval rather than queue.
 */
import {
  type AgentConfig,
  type ClassScore,
  LIVE_FRAME_MAX_JPEG_BYTES,
  type LiveFrame,
  type Logger,
  PROTOCOL_VERSION,
} from '@edgeloop/shared';
import type { Frame } from '../camera/camera.ts';
import type { ImageCodec } from '../image/image-codec.ts';

export class LiveFramePublisher {
  private lastAtMs = Number.NEGATIVE_INFINITY;
  private busy = false;

  constructor(
    private readonly config: AgentConfig['liveFrame'],
    private readonly codec: ImageCodec,
    private readonly publish: (frame: LiveFrame) => void,
    private readonly logger: Logger,
  ) {}

  /** Returns true when this frame was published. */
  async offer(frame: Frame, topK: ClassScore[], modelVersion: number, nowMs = Date.now()): Promise<boolean> {
    const { intervalSeconds, maxWidth, quality } = this.config;
    if (intervalSeconds <= 0 || this.busy || nowMs - this.lastAtMs < intervalSeconds * 1000) return false;
    this.busy = true;
    this.lastAtMs = nowMs;
    try {
      const thumb = await this.codec.thumbnailJpeg(frame.image, maxWidth, quality);
      if (thumb.jpeg.length > LIVE_FRAME_MAX_JPEG_BYTES) {
        this.logger.warn(
          { bytes: thumb.jpeg.length, max: LIVE_FRAME_MAX_JPEG_BYTES },
          'live frame too large: lower liveFrame.maxWidth or quality',
        );
        return false;
      }
      this.publish({
        protocol: PROTOCOL_VERSION,
        frameId: frame.frameId.slice(0, 200),
        capturedAt: frame.capturedAt,
        modelVersion,
        topK: topK.slice(0, 20),
        width: thumb.width,
        height: thumb.height,
        jpeg: thumb.jpeg.toString('base64'),
      });
      return true;
    } finally {
      this.busy = false;
    }
  }
}
