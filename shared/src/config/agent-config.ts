import { z } from 'zod';
import { DeviceIdSchema } from '../schemas/http.ts';

export const TrustedKeySchema = z.object({ keyId: z.string().min(1), publicKeyPem: z.string().min(1) });

/** Camera backends, told apart by `type` (one config type per backend). */
export const CameraConfigSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('synthetic'),
    width: z.number().int().min(16).max(4096).default(160),
    height: z.number().int().min(16).max(4096).default(120),
    fps: z.number().positive().max(120).default(5),
    seed: z.number().int().default(1),
    /** Class names the synthetic scenes draw (see shared/src/synthetic). */
    classes: z.array(z.string()).min(2).optional(),
    /** 0 = clean studio scenes; 1 = hardest field conditions. */
    difficulty: z.number().min(0).max(1).default(0.5),
  }),
  z.object({
    type: z.literal('folder'),
    path: z.string().min(1),
    fps: z.number().positive().max(120).default(2),
    loop: z.boolean().default(true),
  }),
]);
export type CameraConfig = z.infer<typeof CameraConfigSchema>;

export const AgentConfigSchema = z.object({
  /** Base URL of the control plane's HTTP API, e.g. http://10.0.0.5:8080 */
  controlPlaneUrl: z.url(),
  /** Overrides the MQTT URL the control plane hands out at enrollment. */
  mqttUrl: z.string().optional(),
  /** Persistent state: credentials, model slots, sample queue. */
  dataDir: z.string().min(1),
  /** Used once, when no credentials are stored yet in dataDir. */
  enrollmentToken: z.string().optional(),
  deviceId: DeviceIdSchema.optional(),
  name: z.string().optional(),
  camera: CameraConfigSchema.default({
    type: 'synthetic',
    width: 160,
    height: 120,
    fps: 5,
    seed: 1,
    difficulty: 0.5,
  }),
  inference: z
    .object({
      threads: z.number().int().min(1).max(64).default(1),
      topK: z.number().int().min(1).max(20).default(3),
    })
    .default({ threads: 1, topK: 3 }),
  samples: z
    .object({
      /** Frames whose top-1 confidence is below this are sent back for labelling. */
      lowConfidenceThreshold: z.number().min(0).max(1).default(0.6),
      maxPerMinute: z.number().int().min(0).default(30),
      maxQueued: z.number().int().min(1).default(1000),
    })
    .default({ lowConfidenceThreshold: 0.6, maxPerMinute: 30, maxQueued: 1000 }),
  /** Public keys whose manifest signatures this device accepts. */
  trustedKeys: z.array(TrustedKeySchema).min(1),
  /**
   * Shadow mode: before switching, run a verified candidate beside the active model on this many
   * new camera frames and report how often their top-1 labels agree (0 = switch right away).
   */
  updates: z
    .object({
      shadowFrames: z.number().int().min(0).max(10_000).default(0),
      /** Give up waiting for shadow frames after this long and switch anyway (ms). */
      shadowTimeoutMs: z.number().int().min(100).default(30_000),
    })
    .prefault({}),
  /** State report interval (ms). */
  reportIntervalMs: z.number().int().min(100).default(10_000),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'silent']).default('info'),
});
export type AgentConfig = z.infer<typeof AgentConfigSchema>;
export type AgentConfigInput = z.input<typeof AgentConfigSchema>;
