import { z } from 'zod';
import { AssignModelSchema } from '../schemas/http.ts';
import { RolloutStrategySchema } from '../schemas/rollout.ts';

/**
 * Where model files, sample images and dataset images are kept: a folder (default
 * `dataDir/objects`) or an S3 bucket. Env overrides use EDGELOOP_CP_OBJECT_STORE__TYPE=s3,
 * EDGELOOP_CP_OBJECT_STORE__BUCKET=…, EDGELOOP_CP_OBJECT_STORE__ENDPOINT=… and so on.
 */
export const ObjectStoreConfigSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('local'), dir: z.string().min(1).optional() }),
  z.object({
    type: z.literal('s3'),
    bucket: z.string().min(3).max(63),
    region: z.string().min(1).default('us-east-1'),
    /** For S3-compatible servers, e.g. http://127.0.0.1:9000; AWS when absent. */
    endpoint: z.url().optional(),
    /** Path-style addressing (`endpoint/bucket/key`), needed by most S3-compatible servers. */
    forcePathStyle: z.boolean().default(false),
    /** Without these the AWS SDK's default credential chain is used. */
    accessKeyId: z.string().min(1).optional(),
    secretAccessKey: z.string().min(1).optional(),
    /** Prepended to every key, so one bucket can hold several control planes. */
    prefix: z
      .string()
      .regex(/^([A-Za-z0-9_][A-Za-z0-9._-]*\/)*$/, 'empty, or segments each followed by /')
      .default(''),
  }),
]);
export type ObjectStoreConfig = z.infer<typeof ObjectStoreConfigSchema>;

/**
 * The rollout the pipeline opens for a candidate that passed the promotion rule: its target
 * (default: `pipeline.canaryGroup`) and strategy. Waves default to one device, then the rest of
 * the target; soak, timeouts and gates default as for any rollout.
 */
export const PipelineCanarySchema = z.object({
  target: AssignModelSchema.shape.target.optional(),
  strategy: RolloutStrategySchema.extend({
    waves: RolloutStrategySchema.shape.waves.unwrap().default([{ devices: 1 }, { percent: 100 }]),
  }).prefault({}),
});
export type PipelineCanary = z.infer<typeof PipelineCanarySchema>;

/**
 * The retraining pipeline. Training runs as a child process (`trainCommand` + `--data DIR --out
 * DIR` + a candidate's `args`), so the control plane never loads the trainer.
 */
export const PipelineConfigSchema = z.object({
  trainCommand: z.array(z.string().min(1)).min(1).default(['npx', 'edgeloop', 'train']),
  /** Used to evaluate candidates on the field-hard set (`--model DIR --json IMAGE…`). */
  predictCommand: z.array(z.string().min(1)).min(1).default(['npx', 'edgeloop', 'predict']),
  candidates: z
    .array(
      z.object({
        name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/),
        args: z.array(z.string()).default([]),
        /**
         * Retraining from the parent: when set, and the production version was trained by the
         * pipeline as this candidate on the same classes, the candidate continues from that
         * model's weights (`--init-from`) with these args added after `args` (later ones win:
         * fewer epochs, a lower learning rate). Unset: always train from scratch.
         */
        fromParentArgs: z.array(z.string()).optional(),
      }),
    )
    .min(1)
    .default([
      { name: 'mnv1-a025', args: ['--architecture', 'mobilenet_v1', '--alpha', '0.25'] },
      { name: 'mnv1-a050', args: ['--architecture', 'mobilenet_v1', '--alpha', '0.5'] },
    ]),
  /** Candidates trained at the same time (each training uses the cores it gets). */
  parallel: z.number().int().min(1).max(16).default(1),
  baseDataset: z.string().default('base'),
  /** Exported datasets and trained models; default dataDir/pipeline. */
  workDir: z.string().optional(),
  /** Extra attempts per step before the run fails. */
  retries: z.number().int().min(0).max(10).default(1),
  stepTimeoutSec: z
    .number()
    .positive()
    .default(6 * 3600),
  /** node-cron expression, e.g. "0 3 * * *" (03:00 daily). */
  schedule: z.string().optional(),
  /** Start a run once this many labels were given since the last run started. */
  newLabelsThreshold: z.number().int().positive().optional(),
  labelCheckSeconds: z.number().positive().default(60),
  /** Open a canary rollout of a promoted candidate to this device group (shorthand for canary.target). */
  canaryGroup: z.string().min(1).optional(),
  /** The canary rollout's target (default: canaryGroup) and strategy; see PipelineCanarySchema. */
  canary: PipelineCanarySchema.optional(),
});
export type PipelineConfig = z.infer<typeof PipelineConfigSchema>;

export const UserRoleSchema = z.enum(['admin', 'operator', 'viewer']);
export type UserRole = z.infer<typeof UserRoleSchema>;

export const DashboardUserSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/),
  role: UserRoleSchema,
  /** `scrypt$N$r$p$salt$hash`, never the password itself. */
  passwordHash: z.string().startsWith('scrypt$'),
});
export type DashboardUser = z.infer<typeof DashboardUserSchema>;

/** The dashboard's sign-in request (`POST /ui/sign-in`). */
export const SignInSchema = z.object({
  name: z.string().min(1).max(64),
  password: z.string().min(1).max(1024),
});

export const ControlPlaneConfigSchema = z.object({
  /** SQLite database, artifacts and keys live here unless configured otherwise. */
  dataDir: z.string().min(1),
  http: z
    .object({ host: z.string().default('127.0.0.1'), port: z.number().int().min(0).max(65535).default(8080) })
    .default({ host: '127.0.0.1', port: 8080 }),
  mqtt: z
    .object({
      host: z.string().default('127.0.0.1'),
      /** Port of the embedded broker; 0 picks a free one. */
      port: z.number().int().min(0).max(65535).default(1883),
      /** When set, no embedded broker starts and the control plane connects here instead. */
      externalUrl: z.string().optional(),
      /** URL handed to devices at enrollment; defaults to the broker's own address. */
      publicUrl: z.string().optional(),
    })
    .default({ host: '127.0.0.1', port: 1883 }),
  /** Base URL devices use for HTTP; defaults to the server's own address. */
  publicUrl: z.string().optional(),
  /** Bearer token for admin calls; generated into dataDir/admin-token when absent. */
  adminToken: z.string().min(16).optional(),
  /** Days until a manifest signed by the control plane expires. */
  manifestTtlDays: z.number().positive().default(365),
  limits: z
    .object({
      sampleMaxBytes: z
        .number()
        .int()
        .positive()
        .default(5 * 1024 * 1024),
      sampleMaxPixels: z.number().int().positive().default(40_000_000),
      modelMaxBytes: z
        .number()
        .int()
        .positive()
        .default(200 * 1024 * 1024),
    })
    .default({
      sampleMaxBytes: 5 * 1024 * 1024,
      sampleMaxPixels: 40_000_000,
      modelMaxBytes: 200 * 1024 * 1024,
    }),
  objectStore: ObjectStoreConfigSchema.default({ type: 'local' }),
  /** The promotion rule: beat production on the fixed set by `promotionMargin`, no class's recall down by more than `classTolerance`. */
  registry: z
    .object({
      promotionMargin: z.number().min(0).max(1).default(0.01),
      classTolerance: z.number().min(0).max(1).default(0.05),
    })
    .default({ promotionMargin: 0.01, classTolerance: 0.05 }),
  pipeline: PipelineConfigSchema.prefault({}),
  /**
   * Dashboard and API users. Viewers may read, operators and admins may also change things; the
   * admin token stays an admin credential. passwordHash comes from `edgeloop hash-password`.
   */
  users: z.array(DashboardUserSchema).default([]),
  /** How long a dashboard sign-in lasts. */
  sessionHours: z
    .number()
    .positive()
    .max(24 * 90)
    .default(12),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /**
   * How long a verified device secret stays cached (s). Each check is a deliberately slow scrypt;
   * big fleets that install at once may raise this so a rollout's HTTP requests do not redo it.
   */
  auth: z.object({ credentialCacheSeconds: z.number().min(0).max(86_400).default(60) }).prefault({}),
  /** How often the rollout engine re-evaluates running rollouts (ms). */
  rollouts: z.object({ tickMs: z.number().int().min(20).default(1_000) }).prefault({}),
});
export type ControlPlaneConfig = z.infer<typeof ControlPlaneConfigSchema>;
export type ControlPlaneConfigInput = z.input<typeof ControlPlaneConfigSchema>;
