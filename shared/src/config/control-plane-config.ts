import { z } from 'zod';
import { AssignModelSchema } from '../schemas/http.ts';
import { RolloutStrategySchema } from '../schemas/rollout.ts';
import { ClusterConfigSchema } from './cluster-config.ts';
import { IngestConfigSchema } from './ingest-config.ts';
import { DeviceQuotasConfigSchema, RateLimitsConfigSchema, RetentionConfigSchema } from './limits-config.ts';
import { AlertsConfigSchema, MetricsConfigSchema } from './monitoring-config.ts';

/**
 * Where model files, sample images and dataset images are kept: a folder (default
 * `dataDir/objects`) or an S3 bucket. Env overrides use EDGELOOP_CP_OBJECT_STORE__TYPE=s3,
 * EDGELOOP_CP_OBJECT_STORE__BUCKET=…, EDGELOOP_CP_OBJECT_STORE__ENDPOINT=… and so on.
 */
export const ObjectStoreConfigSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('local'),
    dir: z.string().min(1).optional().describe('Folder of the local object store; default dataDir/objects.'),
  }),
  z.object({
    type: z.literal('s3'),
    bucket: z.string().min(3).max(63).describe('S3 bucket name.'),
    region: z.string().min(1).default('us-east-1').describe('S3 region.'),
    endpoint: z
      .url()
      .optional()
      .describe('For S3-compatible servers, e.g. http://127.0.0.1:9000; AWS when absent.'),
    forcePathStyle: z
      .boolean()
      .default(false)
      .describe('Path-style addressing (`endpoint/bucket/key`), needed by most S3-compatible servers.'),
    accessKeyId: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Access key; without it (and secretAccessKey) the AWS SDK's default credential chain is used.",
      ),
    secretAccessKey: z.string().min(1).optional().describe('Secret key that goes with accessKeyId.'),
    prefix: z
      .string()
      .regex(/^([A-Za-z0-9_][A-Za-z0-9._-]*\/)*$/, 'empty, or segments each followed by /')
      .default('')
      .describe('Prepended to every key, so one bucket can hold several control planes.'),
    presign: z
      .object({
        enabled: z
          .boolean()
          .default(true)
          .describe(
            'Devices download model files and upload samples through presigned URLs, straight to the bucket.',
          ),
        expirySeconds: z
          .number()
          .int()
          .min(1)
          .max(3600)
          .default(300)
          .describe('How long a presigned URL works; a device asks again for an expired one.'),
        endpoint: z
          .url()
          .optional()
          .describe(
            'The S3 endpoint as devices reach it, when it differs from `endpoint` (signatures cover the host).',
          ),
      })
      .prefault({})
      .describe('Presigned URLs for devices (bytes that bypass the control plane).'),
  }),
]);
export type ObjectStoreConfig = z.infer<typeof ObjectStoreConfigSchema>;

/**
 * The rollout the pipeline opens for a candidate that passed the promotion rule: its target
 * (default: `pipeline.canaryGroup`) and strategy. Waves default to one device, then the rest of
 * the target; soak, timeouts and gates default as for any rollout.
 */
export const PipelineCanarySchema = z.object({
  target: AssignModelSchema.shape.target
    .optional()
    .describe(
      'Devices the canary rollout targets: {deviceIds}, {group}, {tags} or {all}; default canaryGroup.',
    ),
  strategy: RolloutStrategySchema.extend({
    waves: RolloutStrategySchema.shape.waves
      .unwrap()
      .default([{ devices: 1 }, { percent: 100 }])
      .describe('Waves of the canary rollout: {devices: N} or a cumulative {percent: P} of the target.'),
  })
    .prefault({})
    .describe('Strategy of the canary rollout: the same keys as any rollout (docs/guides/rollouts.md).'),
});
export type PipelineCanary = z.infer<typeof PipelineCanarySchema>;

/**
 * An external MQTT broker. The control plane connects with its own service identity (never handed
 * to devices); with `identities: "mosquitto-dynsec"` it also creates and deletes each device's
 * broker client and role through Mosquitto's dynamic-security plugin.
 */
export const ExternalBrokerConfigSchema = z.object({
  url: z
    .string()
    .regex(/^(mqtts?|wss?):\/\//, 'an mqtt://, mqtts://, ws:// or wss:// URL')
    .describe('Broker URL; a user and password in it are read as the service identity.'),
  username: z.string().min(1).optional().describe("The control plane's own broker user."),
  password: z.string().min(1).optional().describe('Its password (or passwordFile).'),
  passwordFile: z
    .string()
    .min(1)
    .optional()
    .describe('File holding the password (trailing newline ignored).'),
  identities: z
    .enum(['none', 'mosquitto-dynsec'])
    .default('none')
    .describe(
      'Who provisions device identities: `mosquitto-dynsec` (the control plane, through $CONTROL/dynamic-security/v1) or `none` (the broker checks devices itself, e.g. through the HTTP hooks).',
    ),
  commandTimeoutMs: z
    .number()
    .int()
    .positive()
    .default(30_000)
    // Mosquitto 2.0 rewrites its whole dynsec file per change: at 10,000 identities a burst of
    // enrolments queues for seconds (docs/guides/past-one-machine.md).
    .describe(
      'How long a dynamic-security command may take before it fails (ms); the broker answers them in turn, each slower as the fleet grows.',
    ),
});
export type ExternalBrokerConfig = z.infer<typeof ExternalBrokerConfigSchema>;

/**
 * The retraining pipeline. Training runs as a child process (`trainCommand` + `--data DIR --out
 * DIR` + a candidate's `args`), so the control plane never loads the trainer.
 */
export const PipelineConfigSchema = z.object({
  trainCommand: z
    .array(z.string().min(1))
    .min(1)
    .default(['edgeloop', 'train'])
    .describe(
      "Command that trains a candidate; `--data DIR --out DIR` and the candidate's args are appended. A first word `edgeloop` runs this installation's CLI (never npx).",
    ),
  predictCommand: z
    .array(z.string().min(1))
    .min(1)
    .default(['edgeloop', 'predict'])
    .describe(
      'Evaluates candidates on the field-hard set and serves "Try a model" (`--model DIR --json IMAGE…`).',
    ),
  candidates: z
    .array(
      z.object({
        name: z
          .string()
          .regex(/^[a-z0-9][a-z0-9-]{0,62}$/)
          .describe('Candidate name, shown in run history.'),
        args: z
          .array(z.string())
          .default([])
          .describe('Extra arguments for `edgeloop train` (architecture, alpha, …).'),
        fromParentArgs: z
          .array(z.string())
          .optional()
          .describe(
            'Retraining from the parent: when set, and the production version was trained by the pipeline as this candidate on the same classes, the candidate continues from its weights (--init-from) with these args added after `args` (later ones win: fewer epochs, a lower learning rate). Unset: always train from scratch.',
          ),
      }),
    )
    .min(1)
    .default([
      { name: 'mnv1-a025', args: ['--architecture', 'mobilenet_v1', '--alpha', '0.25'] },
      { name: 'mnv1-a050', args: ['--architecture', 'mobilenet_v1', '--alpha', '0.5'] },
    ])
    .describe('Models trained in each run; the best on the fixed evaluation set is registered.'),
  parallel: z
    .number()
    .int()
    .min(1)
    .max(16)
    .default(1)
    .describe('Candidates trained at the same time (each training uses the cores it gets).'),
  baseDataset: z
    .string()
    .default('base')
    .describe('Dataset a dataset version starts from (plus labelled samples).'),
  workDir: z
    .string()
    .optional()
    .describe('Exported datasets and trained models of each run; default dataDir/pipeline.'),
  retries: z
    .number()
    .int()
    .min(0)
    .max(10)
    .default(1)
    .describe('Extra attempts per step before the run fails.'),
  stepTimeoutSec: z
    .number()
    .positive()
    .default(6 * 3600)
    .describe('A step still running after this long fails (s).'),
  schedule: z
    .string()
    .optional()
    .describe('node-cron expression that starts a run, e.g. "0 3 * * *" (03:00 daily).'),
  newLabelsThreshold: z
    .number()
    .int()
    .positive()
    .optional()
    .describe('Start a run once this many labels were given since the last run started.'),
  labelCheckSeconds: z
    .number()
    .positive()
    .default(60)
    .describe('How often newLabelsThreshold is checked (s).'),
  canaryGroup: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Open a canary rollout of a promoted candidate to this device group (shorthand for canary.target).',
    ),
  canary: PipelineCanarySchema.optional().describe(
    "The canary rollout's target (default: canaryGroup) and strategy; without canary or canaryGroup no rollout is opened.",
  ),
});
export type PipelineConfig = z.infer<typeof PipelineConfigSchema>;

export const UserRoleSchema = z.enum(['admin', 'operator', 'viewer']);
export type UserRole = z.infer<typeof UserRoleSchema>;

export const DashboardUserSchema = z.object({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/)
    .describe('Sign-in name; labels and promotions are recorded under it.'),
  role: UserRoleSchema.describe('viewer reads; operator and admin may also change things.'),
  passwordHash: z
    .string()
    .startsWith('scrypt$')
    .describe('`scrypt$N$r$p$salt$hash` from `edgeloop hash-password`, never the password itself.'),
});
export type DashboardUser = z.infer<typeof DashboardUserSchema>;

/** The dashboard's sign-in request (`POST /ui/sign-in`). */
export const SignInSchema = z.object({
  name: z.string().min(1).max(64),
  password: z.string().min(1).max(1024),
});

/**
 * TLS for both listeners (HTTPS and MQTT over TLS). Either certificate files from a site PKI
 * (`certFile` + `keyFile`, reloaded when they change) or `selfSigned`: the control plane makes its
 * own CA and server certificate in dataDir/tls on first start and hands the CA to devices at
 * enrollment. Either way the control plane's own CA issues device client certificates (mTLS).
 */
export const TlsConfigSchema = z.object({
  certFile: z
    .string()
    .min(1)
    .optional()
    .describe('PEM certificate chain of the server (its own certificate first); reloaded when it changes.'),
  keyFile: z.string().min(1).optional().describe('PEM private key of certFile.'),
  caFile: z
    .string()
    .min(1)
    .optional()
    .describe(
      'PEM of the CA that signed certFile, handed to devices at enrollment to pin (omit for a public CA devices already trust).',
    ),
  selfSigned: z
    .object({
      names: z
        .array(z.string().min(1))
        .default(['localhost'])
        .describe('DNS names devices use to reach the control plane (certificate SANs).'),
      addresses: z
        .array(z.union([z.ipv4(), z.ipv6()]))
        .default(['127.0.0.1'])
        .describe('IP addresses devices use to reach the control plane (certificate SANs).'),
    })
    .optional()
    .describe("Make the control plane's own CA and server certificate (sites without a PKI)."),
  mqttPort: z
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(8883)
    .describe('Port of the embedded broker over TLS (MQTTS); the plaintext port is closed under TLS.'),
  deviceCertificateDays: z
    .number()
    .int()
    .min(1)
    .max(3650)
    .default(825)
    .describe('Lifetime of the client certificates the control plane issues to devices (days).'),
});
export type TlsConfig = z.infer<typeof TlsConfigSchema>;

/**
 * The control plane's database. SQLite (a file in dataDir) is the embedded default; Postgres is for
 * running past one machine. Env: EDGELOOP_CP_STORE__TYPE=postgres, EDGELOOP_CP_STORE__URL=postgres://…
 */
export const StoreConfigSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('sqlite'),
    path: z.string().min(1).optional().describe('SQLite database file; default dataDir/control-plane.db.'),
  }),
  z.object({
    type: z.literal('postgres'),
    url: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
      .describe('Connection URL (postgres://user:password@host:5432/db); the password is never logged.'),
    poolSize: z.number().int().min(1).max(100).default(10).describe('Connections in the pool.'),
  }),
]);
export type StoreConfig = z.infer<typeof StoreConfigSchema>;

export const ControlPlaneConfigSchema = z.object({
  dataDir: z
    .string()
    .min(1)
    .describe('SQLite database, artifacts and keys live here unless configured otherwise.'),
  http: z
    .object({
      host: z.string().default('127.0.0.1').describe('Address the HTTP server binds to (0.0.0.0 for all).'),
      port: z.number().int().min(0).max(65535).default(8080).describe('HTTP port; 0 picks a free one.'),
    })
    .default({ host: '127.0.0.1', port: 8080 })
    .describe('HTTP API and dashboard.'),
  mqtt: z
    .object({
      host: z.string().default('127.0.0.1').describe('Address the embedded broker binds to.'),
      port: z
        .number()
        .int()
        .min(0)
        .max(65535)
        .default(1883)
        .describe('Port of the embedded broker; 0 picks a free one.'),
      externalUrl: z
        .string()
        .optional()
        .describe(
          'Shorthand for external.url (kept for older configs): no embedded broker starts and the control plane connects here instead.',
        ),
      external: ExternalBrokerConfigSchema.optional().describe(
        'An external broker (Mosquitto, EMQX, …) instead of the embedded one (docs/guides/external-broker.md).',
      ),
      publicUrl: z
        .string()
        .optional()
        .describe(
          "URL handed to devices at enrollment; defaults to the broker's own address (an external URL without its user and password).",
        ),
      hooks: z
        .object({
          secret: z
            .string()
            .min(16)
            .optional()
            .describe('Shared secret the broker sends in the x-edgeloop-hook-secret header.'),
          secretFile: z
            .string()
            .min(1)
            .optional()
            .describe('File holding the hook secret (instead of secret).'),
        })
        .optional()
        .describe(
          'EMQX-style HTTP authentication/authorization hooks for a clustered broker; off unless a secret is set.',
        ),
    })
    .default({ host: '127.0.0.1', port: 1883 })
    .describe('The MQTT broker: embedded (aedes) or external.'),
  publicUrl: z
    .string()
    .optional()
    .describe('Reserved: read but not used yet (devices take the HTTP URL from their own controlPlaneUrl).'),
  tls: TlsConfigSchema.optional().describe(
    'HTTPS and MQTTS: certificate files or a self-signed CA (docs/security.md). Plaintext listeners are off when set.',
  ),
  insecure: z
    .boolean()
    .default(false)
    .describe(
      'Allow plaintext HTTP and MQTT on a non-loopback address (secrets would cross the network in the clear).',
    ),
  adminToken: z
    .string()
    .min(16)
    .optional()
    .describe('Bearer token for admin calls; generated into dataDir/admin-token when absent.'),
  manifestTtlDays: z
    .number()
    .positive()
    .default(365)
    .describe('Days until a manifest signed by the control plane expires.'),
  limits: z
    .object({
      sampleMaxBytes: z
        .number()
        .int()
        .positive()
        .default(5 * 1024 * 1024)
        .describe('Largest sample image a device may upload (bytes).'),
      sampleMaxPixels: z
        .number()
        .int()
        .positive()
        .default(40_000_000)
        .describe('Largest sample image in pixels (decompression-bomb guard).'),
      modelMaxBytes: z
        .number()
        .int()
        .positive()
        .default(200 * 1024 * 1024)
        .describe('Largest model upload (bytes).'),
    })
    .default({
      sampleMaxBytes: 5 * 1024 * 1024,
      sampleMaxPixels: 40_000_000,
      modelMaxBytes: 200 * 1024 * 1024,
    })
    .describe('Size limits on uploads.'),
  store: StoreConfigSchema.default({ type: 'sqlite' }).describe('Where the control plane keeps its records.'),
  objectStore: ObjectStoreConfigSchema.default({ type: 'local' }).describe(
    'Where model files, sample images and dataset images are kept: local folder or S3.',
  ),
  registry: z
    .object({
      promotionMargin: z
        .number()
        .min(0)
        .max(1)
        .default(0.01)
        .describe('Accuracy on the fixed evaluation set a candidate must gain over production.'),
      classTolerance: z
        .number()
        .min(0)
        .max(1)
        .default(0.05)
        .describe("Largest drop of any class's recall a promotion allows."),
    })
    .default({ promotionMargin: 0.01, classTolerance: 0.05 })
    .describe('The promotion rule applied by `edgeloop model promote` and the pipeline.'),
  pipeline: PipelineConfigSchema.prefault({}).describe(
    'The retraining pipeline (docs/guides/labelling-and-retraining.md).',
  ),
  users: z
    .array(DashboardUserSchema)
    .default([])
    .describe(
      'Dashboard and API users. Viewers may read, operators and admins may also change things; the admin token stays an admin credential.',
    ),
  sessionHours: z
    .number()
    .positive()
    .max(24 * 90)
    .default(12)
    .describe('How long a dashboard sign-in lasts (hours).'),
  logLevel: z
    .enum(['trace', 'debug', 'info', 'warn', 'error', 'silent'])
    .default('info')
    .describe('pino log level.'),
  // A cached check costs one read shared with the checks beside it, instead of one each.
  auth: z
    .object({
      credentialCacheSeconds: z
        .number()
        .min(0)
        .max(86_400)
        .default(60)
        .describe(
          'How long a verified device secret stays cached (s); within it a check costs one read shared with the checks arriving beside it. Secrets still hashed with scrypt by an older version are re-hashed on their first check.',
        ),
    })
    .prefault({})
    .describe('Device authentication.'),
  cluster: ClusterConfigSchema.describe('Several replicas with one elected leader (off by default).'),
  rollouts: z
    .object({
      tickMs: z
        .number()
        .int()
        .min(20)
        .default(1_000)
        .describe('How often the rollout engine re-evaluates running rollouts (ms).'),
    })
    .prefault({})
    .describe('The rollout engine.'),
  metrics: MetricsConfigSchema,
  alerts: AlertsConfigSchema,
  rateLimits: RateLimitsConfigSchema,
  quotas: DeviceQuotasConfigSchema,
  retention: RetentionConfigSchema,
  ingest: IngestConfigSchema,
  datasetImport: z
    .object({
      allowNetworks: z
        .array(z.string())
        .default([])
        .describe(
          'Private, loopback or link-local networks (CIDR, e.g. "10.20.0.0/16") dataset import may fetch from; public addresses are always allowed, these only when listed.',
        ),
      maxRedirects: z
        .number()
        .int()
        .min(0)
        .max(20)
        .default(5)
        .describe('Redirects followed per URL, each checked.'),
      timeoutSec: z.number().positive().max(600).default(30).describe('Time one URL may take in all (s).'),
    })
    .prefault({})
    .describe('Dataset import by URL (docs/security.md#ssrf).'),
});
export type ControlPlaneConfig = z.infer<typeof ControlPlaneConfigSchema>;
export type ControlPlaneConfigInput = z.input<typeof ControlPlaneConfigSchema>;
