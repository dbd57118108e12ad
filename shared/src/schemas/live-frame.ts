/**
 * The live frame: a small JPEG of a device's latest classified frame with its prediction, sent on
 * edgeloop/v1/devices/{id}/frame at QoS 0, not retained, at most every few seconds. JSON with the
 * JPEG in base64 (one schema-checked payload like every other topic; ~33% larger, and the size is
 * capped so a device cannot make the control plane hold big blobs).
 */
import { z } from 'zod';
import { PROTOCOL_VERSION } from '../protocol.ts';
import { CameraIdSchema } from './camera-id.ts';
import { ClassScoreSchema } from './messages.ts';

/** The largest thumbnail accepted: a 320 px wide JPEG at quality 70 is typically 10-30 KB. */
export const LIVE_FRAME_MAX_JPEG_BYTES = 128 * 1024;

export const LiveFrameSchema = z.object({
  protocol: z.literal(PROTOCOL_VERSION),
  frameId: z.string().max(200),
  capturedAt: z.iso.datetime(),
  modelVersion: z.number().int().positive().nullable(),
  topK: z.array(ClassScoreSchema).max(20),
  width: z.number().int().min(1).max(4096),
  height: z.number().int().min(1).max(4096),
  /** The JPEG bytes, base64 (RFC 4648 §4). */
  jpeg: z.base64().max(Math.ceil(LIVE_FRAME_MAX_JPEG_BYTES / 3) * 4),
  /** The camera that took it; absent means the device's only camera. */
  cameraId: CameraIdSchema.optional(),
});
export type LiveFrame = z.infer<typeof LiveFrameSchema>;
