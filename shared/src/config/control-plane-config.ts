import { z } from 'zod';

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
