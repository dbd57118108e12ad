import { z } from 'zod';
import { DeviceIdSchema, DeviceTagsSchema } from '../schemas/http.ts';
import { CameraConfigSchema, FramePolicySchema } from './camera-config.ts';

export * from './camera-config.ts';

export const TrustedKeySchema = z.object({ keyId: z.string().min(1), publicKeyPem: z.string().min(1) });

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
  /** Tags asked for at enrollment (rollouts can target them); later changes are made centrally. */
  tags: DeviceTagsSchema.optional(),
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
      /** Tried in order; a provider this onnxruntime build lacks is skipped with a log line. cpu is always last. */
      executionProviders: z
        .array(z.enum(['tensorrt', 'cuda', 'cpu']))
        .min(1)
        .default(['cpu']),
    })
    .prefault({}),
  /** The live thumbnail of the latest classified frame shown on the dashboard's Device page. */
  liveFrame: z
    .object({
      /** At most one every this many seconds; 0 turns it off. */
      intervalSeconds: z.number().min(0).max(3600).default(10),
      maxWidth: z.number().int().min(32).max(1280).default(320),
      quality: z.number().int().min(10).max(95).default(70),
    })
    .prefault({}),
  /** Which frames are classified: rate cap, region of interest, motion gating. */
  frames: FramePolicySchema,
  /** When predictions go out on MQTT. */
  predictions: z
    .object({
      /** 'change': when the top-1 label changes, its confidence moves by confidenceDelta, or repeatMs passed. */
      publish: z.enum(['change', 'rate']).default('change'),
      maxPerSecond: z.number().positive().max(100).default(5),
      confidenceDelta: z.number().min(0).max(1).default(0.1),
      repeatMs: z.number().int().min(0).default(10_000),
    })
    .prefault({}),
  samples: z
    .object({
      /** Frames whose top-1 confidence is below this are sent back for labelling. */
      lowConfidenceThreshold: z.number().min(0).max(1).default(0.6),
      /** Also capture when top-1 minus top-2 confidence is below this (0 = off). */
      minMargin: z.number().min(0).max(1).default(0),
      /** Also capture when the normalised entropy of the top-k (0..1) is above this (1 = off). */
      maxEntropy: z.number().min(0).max(1).default(1),
      /** Per-class top-1 thresholds that replace lowConfidenceThreshold for that predicted class. */
      classThresholds: z.record(z.string(), z.number().min(0).max(1)).default({}),
      /** Fraction of confident frames captured anyway, to audit the model (reason 'audit'). */
      auditRate: z.number().min(0).max(1).default(0),
      maxPerMinute: z.number().int().min(0).default(30),
      maxPerHour: z.number().int().min(0).default(600),
      maxPerDay: z.number().int().min(0).default(5000),
      /** Skip a frame whose 64-bit dHash is within this Hamming distance of a recent capture (-1 = off). */
      duplicateDistance: z.number().int().min(-1).max(64).default(3),
      maxQueued: z.number().int().min(1).default(1000),
    })
    .prefault({}),
  /** Local HTTP endpoint (health, model, last prediction, last frame); off when absent. */
  http: z
    .object({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8090),
    })
    .optional(),
  /** Home Assistant MQTT discovery: each camera's class as a sensor (see docs/protocol.md). */
  homeAssistant: z
    .object({
      enabled: z.boolean().default(false),
      discoveryPrefix: z
        .string()
        .regex(/^[a-z0-9_-]+$/)
        .default('homeassistant'),
    })
    .prefault({}),
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
