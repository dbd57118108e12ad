/** The agent's heartbeat figures, carried in ReportedState.health (retained on `state`). */
import { z } from 'zod';

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
});
export type DeviceHealth = z.infer<typeof DeviceHealthSchema>;
