/** The agent's heartbeat figures, carried in ReportedState.health (retained on `state`). */
import { z } from 'zod';
import { CameraIdSchema } from './camera-id.ts';
import { InferenceReportSchema } from './inference.ts';

/** One camera's figures, in DeviceHealth.cameras. */
export const CameraHealthSchema = z.object({
  cameraId: CameraIdSchema,
  fps: z.number().nonnegative(),
  latencyP50Ms: z.number().nonnegative().nullable(),
  latencyP95Ms: z.number().nonnegative().nullable(),
  framesProcessed: z.number().int().nonnegative(),
  framesDropped: z.number().int().nonnegative(),
  cameraRestarts: z.number().int().nonnegative(),
  /** True while its capture is failing (between a failure and the next frame). */
  failing: z.boolean(),
  /** The last capture failure, while failing. */
  lastError: z.string().max(500).nullable(),
});
export type CameraHealth = z.infer<typeof CameraHealthSchema>;

export const DeviceHealthSchema = z.object({
  /** Frames classified per second, recent. */
  fps: z.number().nonnegative(),
  /** Frame taken → model answer, over the last few hundred frames; null before the first. */
  latencyP50Ms: z.number().nonnegative().nullable(),
  latencyP95Ms: z.number().nonnegative().nullable(),
  framesDropped: z.number().int().nonnegative(),
  cameraRestarts: z.number().int().nonnegative(),
  queueDepth: z.number().int().nonnegative(),
  /** Samples evicted from the full queue since the agent started. */
  evictions: z.number().int().nonnegative(),
  uptimeS: z.number().nonnegative(),
  /** From /sys/class/thermal where the board exposes it. */
  cpuTemperatureC: z.number().nullable(),
  /**
   * Per camera (agents with the `cameras` list, and single-camera agents since v0.2); the figures
   * above are the device's totals: fps, frames and restarts summed, latency of the slowest camera.
   */
  cameras: z.array(CameraHealthSchema).max(16).optional(),
  /** Execution provider and model variant in use (see inference.ts); absent from older agents. */
  inference: InferenceReportSchema.optional(),
});
export type DeviceHealth = z.infer<typeof DeviceHealthSchema>;
