import { z } from 'zod';
import { CameraIdSchema } from '../schemas/camera-id.ts';
import { DeviceIdSchema, DeviceTagsSchema } from '../schemas/http.ts';
import { ExecutionProviderSchema } from '../schemas/inference.ts';
import { AliasNameSchema } from '../schemas/loop.ts';
import {
  type CameraConfig,
  CameraConfigSchema,
  cameraConfigWith,
  type FramePolicy,
  FramePolicyObjectSchema,
  FramePolicySchema,
} from './camera-config.ts';

export * from './camera-config.ts';

export const TrustedKeySchema = z.object({
  keyId: z.string().min(1).describe("The key's id, as in the control plane's dataDir/signing-key.json."),
  publicKeyPem: z
    .string()
    .min(1)
    .describe('The ed25519 public key in PEM (publicKeyPem of signing-key.json).'),
});

/** Which classified frames are sent back for labelling: thresholds and rate limits (per camera). */
export const SamplePolicySchema = z.object({
  lowConfidenceThreshold: z
    .number()
    .min(0)
    .max(1)
    .optional()
    .describe(
      "Frames whose top-1 confidence is below this are sent back for labelling. Unset: the running model's recommended thresholds (its manifest's `confidence`, per class where it has one), else 0.6. Set: this value for every class, replacing the model's.",
    ),
  minMargin: z
    .number()
    .min(0)
    .max(1)
    .default(0)
    .describe('Also capture when top-1 minus top-2 confidence is below this (0 = off).'),
  maxEntropy: z
    .number()
    .min(0)
    .max(1)
    .default(1)
    .describe('Also capture when the normalised entropy of the top-k (0..1) is above this (1 = off).'),
  classThresholds: z
    .record(z.string(), z.number().min(0).max(1))
    .default({})
    .describe('Per-class top-1 thresholds that replace lowConfidenceThreshold for that predicted class.'),
  auditRate: z
    .number()
    .min(0)
    .max(1)
    .default(0)
    .describe("Fraction of confident frames captured anyway, to audit the model (reason 'audit')."),
  maxPerMinute: z.number().int().min(0).default(30).describe('Captures allowed per minute.'),
  maxPerHour: z.number().int().min(0).default(600).describe('Captures allowed per hour.'),
  maxPerDay: z.number().int().min(0).default(5000).describe('Captures allowed per day.'),
  duplicateDistance: z
    .number()
    .int()
    .min(-1)
    .max(64)
    .default(3)
    .describe(
      'Skip a frame whose 64-bit dHash is within this Hamming distance of a recent capture (-1 = off).',
    ),
});
export type SamplePolicy = z.infer<typeof SamplePolicySchema>;

/** The id of the one camera configured with the single `camera` key. */
export const DEFAULT_CAMERA_ID = 'default';

/** One entry of `cameras`: the backend's keys (by `type`) plus an id and its own policies. */
export const CameraEntrySchema = cameraConfigWith({
  id: CameraIdSchema.describe(
    'Names the camera in predictions, samples, live frames, health and Home Assistant.',
  ),
  // Not FramePolicySchema: its prefault would fill an absent section, hiding the device-level one.
  frames: FramePolicyObjectSchema.optional().describe(
    "This camera's frame policy; the device-level `frames` when absent (replaced whole, not merged).",
  ),
  samples: SamplePolicySchema.optional().describe(
    "This camera's sample policy; the device-level `samples` when absent (replaced whole, not merged; the queue is shared).",
  ),
  model: z
    .union([z.number().int().positive(), AliasNameSchema])
    .optional()
    .describe(
      "A model for this camera instead of the device's: a registry version number or alias (e.g. 'candidate'). Resolved by the control plane from the remote configuration; the device's model when absent or when it cannot be installed.",
    ),
});
export type CameraEntry = z.infer<typeof CameraEntrySchema>;

/** The agent config's keys without the cross-key checks (so sections can be picked from it). */
export const AgentConfigObjectSchema = z.object({
  controlPlaneUrl: z.url().describe("Base URL of the control plane's HTTP API, e.g. http://10.0.0.5:8080."),
  mqttUrl: z
    .string()
    .optional()
    .describe('Overrides the MQTT URL the control plane hands out at enrollment.'),
  dataDir: z.string().min(1).describe('Persistent state: credentials, model slots, sample queue.'),
  tls: z
    .object({
      caFile: z
        .string()
        .min(1)
        .optional()
        .describe("PEM CA the control plane's certificate must chain to (https:// and mqtts://)."),
      objectStorageCaFile: z
        .string()
        .min(1)
        .optional()
        .describe(
          "PEM CA(s) an S3 endpoint with its own CA must chain to, for presigned model downloads and sample uploads; the system's CAs (and NODE_EXTRA_CA_CERTS) when absent.",
        ),
      caFingerprint: z
        .string()
        .regex(
          /^([0-9a-fA-F]{2}:?){31}[0-9a-fA-F]{2}$/,
          'a sha256 fingerprint: 64 hex digits, colons allowed',
        )
        .optional()
        .describe(
          "sha256 of the control plane's CA certificate (`edgeloop control-plane` prints it): the agent fetches that CA from the server's chain on first start and keeps it.",
        ),
      clientCertificate: z
        .boolean()
        .default(false)
        .describe(
          'Enroll with a key pair made on this device (only a CSR is sent) and authenticate by client certificate (mTLS) instead of a secret.',
        ),
    })
    .prefault({})
    .describe('How the agent trusts the control plane, and proves who it is.'),
  secretRotationDays: z
    .number()
    .min(0)
    .default(90)
    .describe(
      'Replace the device secret at start once it is this old (days; 0 = never). The agent makes the new secret and keeps it on disk before asking.',
    ),
  insecure: z
    .boolean()
    .default(false)
    .describe(
      'Allow http:// and mqtt:// to a host that is not loopback (the device secret crosses in the clear).',
    ),
  enrollmentToken: z
    .string()
    .optional()
    .describe('Used once, when no credentials are stored yet in dataDir.'),
  deviceId: DeviceIdSchema.optional().describe(
    'Device id asked for at enrollment; the control plane picks one when absent.',
  ),
  name: z.string().optional().describe('Human-readable device name shown on the dashboard.'),
  tags: DeviceTagsSchema.optional().describe(
    'Tags asked for at enrollment (rollouts can target them); later changes are made centrally.',
  ),
  camera: CameraConfigSchema.optional().describe(
    "One camera (id 'default'), chosen by `type`; a synthetic 160×120 camera when neither camera nor cameras is set.",
  ),
  cameras: z
    .array(CameraEntrySchema)
    .min(1)
    .max(16)
    .optional()
    .describe(
      'Several cameras instead of `camera`: each with its own capture process, watchdog and policies, sharing one model session.',
    ),
  inference: z
    .object({
      threads: z
        .number()
        .int()
        .min(1)
        .max(64)
        .default(1)
        .describe('onnxruntime intra-op threads per session.'),
      topK: z.number().int().min(1).max(20).default(3).describe('How many classes each prediction reports.'),
      executionProviders: z
        .union([
          z.literal('auto'),
          z
            .array(ExecutionProviderSchema)
            .min(1)
            .max(3)
            .refine((v) => new Set(v).size === v.length, 'a provider is listed twice'),
        ])
        .default('auto')
        .describe(
          '"auto" (tensorrt, then cuda, then cpu) or an ordered list. The agent uses the first one its onnxruntime build can load and reports it; a list without cpu makes start-up fail (EXECUTION_PROVIDER_UNAVAILABLE) when none of its providers loads.',
        ),
      variant: z
        .enum(['auto', 'int8', 'fp32'])
        .default('auto')
        .describe(
          'Which variant of a model that ships int8 and fp32 to run: auto times both at install and runs the faster one that passed its smoke test; int8 or fp32 runs that one (the other when it is missing or fails its smoke test).',
        ),
      variantRuns: z
        .number()
        .int()
        .min(1)
        .max(1000)
        .default(20)
        .describe('Warm inferences timed per variant at install (variant auto).'),
    })
    .prefault({})
    .describe('How the model runs in onnxruntime.'),
  liveFrame: z
    .object({
      intervalSeconds: z
        .number()
        .min(0)
        .max(3600)
        .default(10)
        .describe('At most one live frame every this many seconds; 0 turns it off.'),
      maxWidth: z
        .number()
        .int()
        .min(32)
        .max(1280)
        .default(320)
        .describe('Width the live frame is scaled down to (px).'),
      quality: z.number().int().min(10).max(95).default(70).describe('JPEG quality of the live frame.'),
    })
    .prefault({})
    .describe("The live thumbnail of the latest classified frame shown on the dashboard's Device page."),
  frames: FramePolicySchema.describe(
    'Which frames are classified: rate cap, region of interest, motion gating.',
  ),
  predictions: z
    .object({
      publish: z
        .enum(['change', 'rate'])
        .default('change')
        .describe(
          "'change': publish when the top-1 label changes, its confidence moves by confidenceDelta, or repeatMs passed; 'rate': every classified frame, up to maxPerSecond.",
        ),
      maxPerSecond: z
        .number()
        .positive()
        .max(100)
        .default(5)
        .describe('Upper bound on prediction messages per second.'),
      confidenceDelta: z
        .number()
        .min(0)
        .max(1)
        .default(0.1)
        .describe("A confidence change this large counts as a change ('change' mode)."),
      repeatMs: z
        .number()
        .int()
        .min(0)
        .default(10_000)
        .describe("Republish an unchanged prediction after this long ('change' mode, ms)."),
    })
    .prefault({})
    .describe('When predictions go out on MQTT.'),
  samples: SamplePolicySchema.extend({
    maxQueued: z
      .number()
      .int()
      .min(1)
      .default(1000)
      .describe(
        'Samples kept on disk awaiting upload; when full the most confident (then oldest) is evicted.',
      ),
  })
    .prefault({})
    .describe('Which frames are sent back for labelling, how many, and how many wait on disk.'),
  http: z
    .object({
      host: z.string().min(1).default('127.0.0.1').describe('Address the local endpoint binds to.'),
      port: z.number().int().min(0).max(65535).default(8090).describe('Port of the local endpoint.'),
    })
    .optional()
    .describe('Local HTTP endpoint (GET /health, /model, /prediction, /frame.jpg); off when absent.'),
  homeAssistant: z
    .object({
      enabled: z
        .boolean()
        .default(false)
        .describe('Publish retained MQTT discovery messages for Home Assistant.'),
      discoveryPrefix: z
        .string()
        .regex(/^[a-z0-9_-]+$/)
        .default('homeassistant')
        .describe("Home Assistant's discovery prefix; a custom one is used only when mqttUrl is set."),
    })
    .prefault({})
    .describe(
      "Home Assistant MQTT discovery: each camera's class and confidence as sensors (see docs/protocol.md).",
    ),
  trustedKeys: z
    .array(TrustedKeySchema)
    .min(1)
    .describe('Public keys whose manifest signatures this device accepts.'),
  // Shadow mode exists so an operator can see agreement on real frames before a switch.
  updates: z
    .object({
      shadowFrames: z
        .number()
        .int()
        .min(0)
        .max(10_000)
        .default(0)
        .describe(
          'Before switching, run a verified candidate beside the active model on this many new frames and report how often their top-1 labels agree (0 = switch right away).',
        ),
      shadowTimeoutMs: z
        .number()
        .int()
        .min(100)
        .default(30_000)
        .describe('Give up waiting for shadow frames after this long and switch anyway (ms).'),
      agentHealthySeconds: z
        .number()
        .min(0)
        .max(3_600)
        .default(30)
        .describe(
          'After a self-update, how long the new agent must run connected and reporting before it confirms itself; the launcher reverts it if that does not happen within its deadline (EDGELOOP_UPDATE_DEADLINE_S).',
        ),
    })
    .prefault({})
    .describe('How a verified new model version or agent version is switched in.'),
  reportIntervalMs: z
    .number()
    .int()
    .min(100)
    .default(10_000)
    .describe('Interval of the retained state report (ms).'),
  logLevel: z
    .enum(['trace', 'debug', 'info', 'warn', 'error', 'silent'])
    .default('info')
    .describe('pino log level.'),
});

export const AgentConfigSchema = AgentConfigObjectSchema.superRefine((config, ctx) => {
  if (config.camera && config.cameras)
    ctx.addIssue({ code: 'custom', path: ['cameras'], message: 'give camera or cameras, not both' });
  const seen = new Set<string>();
  for (const [i, entry] of (config.cameras ?? []).entries()) {
    if (seen.has(entry.id))
      ctx.addIssue({
        code: 'custom',
        path: ['cameras', i, 'id'],
        message: `camera id '${entry.id}' repeats`,
      });
    seen.add(entry.id);
  }
});
export type AgentConfig = z.infer<typeof AgentConfigSchema>;
export type AgentConfigInput = z.input<typeof AgentConfigSchema>;

/** A camera with every policy resolved: what the agent builds one capture + pipeline from. */
export interface ResolvedCamera {
  id: string;
  camera: CameraConfig;
  frames: FramePolicy;
  samples: SamplePolicy;
}

const DEFAULT_CAMERA: CameraConfig = {
  type: 'synthetic',
  width: 160,
  height: 120,
  fps: 5,
  seed: 1,
  difficulty: 0.5,
};

/**
 * The cameras a validated config describes, in order: `cameras`, or the single `camera` (id
 * 'default'), or the default synthetic camera. Per-camera policies replace the device-level ones.
 */
export function resolveCameras(config: AgentConfig): ResolvedCamera[] {
  if (!config.cameras) {
    return [
      {
        id: DEFAULT_CAMERA_ID,
        camera: config.camera ?? DEFAULT_CAMERA,
        frames: config.frames,
        samples: config.samples,
      },
    ];
  }
  return config.cameras.map(({ id, frames, samples, ...camera }) => ({
    id,
    camera: camera as CameraConfig,
    frames: frames ?? config.frames,
    samples: samples ?? config.samples,
  }));
}
