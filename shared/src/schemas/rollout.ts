/**
 * Rollouts (HTTP routes in api/routes/rollouts.ts): a model version pushed to a target in waves, with a
 * notification rate, soak time, per-device timeout, abort criteria and health gates that compare
 * the new version's field confidence with the previous version's on the same devices.
 */
import { z } from 'zod';
import { PROTOCOL_VERSION } from '../protocol.ts';
import { AssignModelSchema, DeviceIdSchema } from './http.ts';

const Protocol = z.literal(PROTOCOL_VERSION);

/** One wave: a fixed number of devices (a canary) or a cumulative share of the target. */
export const RolloutWaveSchema = z.union([
  z.object({ devices: z.number().int().min(1) }),
  z.object({ percent: z.number().gt(0).max(100) }),
]);
export type RolloutWave = z.infer<typeof RolloutWaveSchema>;

export const HealthGatesSchema = z.object({
  /** Share of the wave's finished devices that must be active. */
  minSuccessPercent: z.number().min(0).max(100).default(100),
  /** agent-error and camera-error events from the wave's devices allowed during the wave. */
  maxAgentErrors: z.number().int().min(0).default(0),
  /** Predictions a device needs on each version before its confidence counts. */
  minPredictions: z.number().int().min(1).default(20),
  /** Allowed fall of mean top-1 confidence (new vs previous version, same devices). */
  maxMeanConfidenceDrop: z.number().min(0).max(1).default(0.1),
  /** Allowed rise of the low-confidence rate (new vs previous version, same devices). */
  maxLowConfidenceRateIncrease: z.number().min(0).max(1).default(0.15),
  /** A failed gate pauses the rollout (an operator decides) or aborts it (rolls back). */
  onFailure: z.enum(['pause', 'abort']).default('abort'),
});
export type HealthGates = z.infer<typeof HealthGatesSchema>;

export const RolloutStrategySchema = z.object({
  waves: z
    .array(RolloutWaveSchema)
    .min(1)
    .max(20)
    .default([{ devices: 1 }, { percent: 10 }, { percent: 50 }, { percent: 100 }]),
  maxNotifiedPerMinute: z.number().int().min(1).max(1_000_000).default(100),
  /** After a wave's last device finished: how long to watch it before the gates decide. */
  soakSeconds: z
    .number()
    .min(0)
    .max(7 * 86_400)
    .default(300),
  /** A notified device that is not active after this long is timed_out (it may still finish). */
  deviceTimeoutSeconds: z
    .number()
    .min(1)
    .max(30 * 86_400)
    .default(3_600),
  abort: z
    .object({
      /** Abort when failed / finished devices exceeds this percentage... */
      failurePercent: z.number().min(0).max(100).default(20),
      /** ...once at least this many devices have finished (active or failed). */
      minFinished: z.number().int().min(1).default(1),
      /** Count timed_out devices as failures (they are usually just offline). */
      countTimeouts: z.boolean().default(false),
    })
    .prefault({}),
  gates: HealthGatesSchema.prefault({}),
});
export type RolloutStrategy = z.infer<typeof RolloutStrategySchema>;
export type RolloutStrategyInput = z.input<typeof RolloutStrategySchema>;

export const CreateRolloutSchema = z.object({
  protocol: Protocol,
  modelVersion: z.number().int().positive(),
  target: AssignModelSchema.shape.target,
  strategy: RolloutStrategySchema.prefault({}),
});
export type CreateRollout = z.infer<typeof CreateRolloutSchema>;
export type CreateRolloutInput = z.input<typeof CreateRolloutSchema>;

export const RolloutActionSchema = z.object({
  protocol: Protocol,
  reason: z.string().max(500).optional(),
});

export const RolloutStateSchema = z.enum(['running', 'paused', 'completed', 'aborted']);
export type RolloutState = z.infer<typeof RolloutStateSchema>;

/**
 * Per-device execution state: queued → notified → downloading → verifying → installed → active,
 * or failed, timed_out; on abort, updated devices go rolling_back → rolled_back. A device pinned
 * to a version while the rollout holds it is `skipped`: the pin wins, and the gates ignore it.
 */
export const RolloutDeviceStateSchema = z.enum([
  'queued',
  'notified',
  'downloading',
  'verifying',
  'installed',
  'active',
  'failed',
  'timed_out',
  'rolling_back',
  'rolled_back',
  'skipped',
]);
export type RolloutDeviceState = z.infer<typeof RolloutDeviceStateSchema>;

export const RolloutTransitionSchema = z.object({
  state: RolloutDeviceStateSchema,
  at: z.string(),
  reason: z.string().nullable(),
});
export type RolloutTransition = z.infer<typeof RolloutTransitionSchema>;

export const RolloutDeviceSchema = z.object({
  deviceId: DeviceIdSchema,
  wave: z.number().int().nonnegative(),
  state: RolloutDeviceStateSchema,
  previousVersion: z.number().int().nullable(),
  reason: z.string().nullable(),
  updatedAt: z.string(),
  history: z.array(RolloutTransitionSchema),
});
export type RolloutDevice = z.infer<typeof RolloutDeviceSchema>;

export const GateCheckSchema = z.object({
  name: z.string(),
  passed: z.boolean(),
  value: z.number().nullable(),
  limit: z.number(),
  detail: z.string(),
});
export type GateCheck = z.infer<typeof GateCheckSchema>;

export const RolloutWaveStatusSchema = z.object({
  index: z.number().int().nonnegative(),
  devices: z.number().int().nonnegative(),
  state: z.enum(['pending', 'rolling', 'soaking', 'passed', 'failed']),
  startedAt: z.string().nullable(),
  soakUntil: z.string().nullable(),
  checks: z.array(GateCheckSchema).nullable(),
});
export type RolloutWaveStatus = z.infer<typeof RolloutWaveStatusSchema>;

export const RolloutSchema = z.object({
  rolloutId: z.string(),
  modelVersion: z.number().int().positive(),
  target: AssignModelSchema.shape.target,
  strategy: RolloutStrategySchema,
  state: RolloutStateSchema,
  currentWave: z.number().int().nonnegative(),
  reason: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  waves: z.array(RolloutWaveStatusSchema),
  counts: z.record(z.string(), z.number().int()),
  devices: z.array(RolloutDeviceSchema),
});
export type Rollout = z.infer<typeof RolloutSchema>;
