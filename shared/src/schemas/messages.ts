/** MQTT payloads. Every one carries `protocol`; topics are in ../topics.ts. */
import { z } from 'zod';
import { PROTOCOL_VERSION } from '../protocol.ts';
import { AgentUpdateProgressSchema, DesiredAgentSchema } from './agent-update.ts';
import { AppliedConfigSchema } from './applied-config.ts';
import { CameraIdSchema } from './camera-id.ts';
import { ClassNameSchema } from './class-name.ts';
import { DeviceHealthSchema } from './health.ts';
import { ModelConfidenceSchema, UpdateProgressSchema } from './update.ts';

const Protocol = z.literal(PROTOCOL_VERSION);
const Timestamp = z.iso.datetime();

/** A model version and where its signed manifest is (HTTP path relative to the control plane's URL). */
export const ModelRefSchema = z.object({
  modelVersion: z.number().int().positive(),
  manifestPath: z.string().startsWith('/'),
});
export type ModelRef = z.infer<typeof ModelRefSchema>;

/**
 * Retained on `desired`: the model version the control plane wants this device to run. Signed
 * (desired-state-signature.ts): bound to one device, numbered by a sequence that only grows, and
 * dated, so a forged, replayed or another device's message is refused (TUF/Uptane's attacks).
 */
export const DesiredStateSchema = z.object({
  protocol: Protocol,
  modelVersion: z.number().int().positive().nullable(),
  /** HTTP path (relative to the control plane's URL) of the signed manifest. */
  manifestPath: z.string().startsWith('/').nullable(),
  updatedAt: Timestamp,
  /**
   * Cameras that run another model than `modelVersion`, by camera id (the remote configuration's
   * `cameras[].model`, resolved). Absent when every camera runs the device's model.
   */
  cameraModels: z.record(CameraIdSchema, ModelRefSchema).optional(),
  /** With a rollback manifest: the order it must carry (the manifest's rollbackOrder). */
  rollbackOrder: z.string().min(1).max(100).optional(),
  /** The agent software version to run (agent-update.ts); absent: keep the running one. */
  agent: DesiredAgentSchema.optional(),
  /** The device this desired state is for. */
  deviceId: z.string().min(1).max(64),
  /** Grows whenever the content changes; a device refuses one lower than it accepted before. */
  sequence: z.number().int().positive(),
  issuedAt: Timestamp,
  /** The manifest signing keys the device should trust from now on (key rotation). */
  trustedKeys: z
    .array(z.object({ keyId: z.string().min(1), publicKeyPem: z.string().min(1) }))
    .min(1)
    .max(4),
  /** One signature per signing key in use, over every other field (canonical JSON). */
  signatures: z
    .array(z.object({ alg: z.literal('ed25519'), keyId: z.string().min(1), value: z.string().min(1) }))
    .min(1)
    .max(4),
});
export type DesiredState = z.infer<typeof DesiredStateSchema>;

export const DeviceRunStatusSchema = z.enum([
  'starting',
  'idle',
  'downloading',
  'verifying',
  'running',
  'error',
]);

/** Retained on `state`: what the device runs now. */
export const ReportedStateSchema = z.object({
  protocol: Protocol,
  modelVersion: z.number().int().positive().nullable(),
  status: DeviceRunStatusSchema,
  detail: z.string().max(500).optional(),
  agentVersion: z.string().max(64),
  framesProcessed: z.number().int().nonnegative(),
  samplesQueued: z.number().int().nonnegative(),
  /** Heartbeat figures (fps, latency, queue, temperature); absent from older agents. */
  health: DeviceHealthSchema.optional(),
  reportedAt: Timestamp,
  /** The latest update attempt (see update.ts); absent until the agent has tried one. */
  update: UpdateProgressSchema.optional(),
  /** Field confidence per recent model version, for the rollout health gates. */
  modelStats: z.array(ModelConfidenceSchema).max(4).optional(),
  /** The remote configuration revision the agent runs (see agent-settings.ts); absent from older agents. */
  config: AppliedConfigSchema.optional(),
  /** The latest agent self-update attempt (agent-update.ts); absent until the agent has tried one. */
  agentUpdate: AgentUpdateProgressSchema.optional(),
});
export type ReportedState = z.infer<typeof ReportedStateSchema>;

/** Retained on `status` and set as the MQTT will, so the broker marks a vanished device offline. */
export const DeviceStatusSchema = z.object({
  protocol: Protocol,
  online: z.boolean(),
  at: Timestamp,
});
export type DeviceStatus = z.infer<typeof DeviceStatusSchema>;

export const ClassScoreSchema = z.object({ label: ClassNameSchema, confidence: z.number().min(0).max(1) });
export type ClassScore = z.infer<typeof ClassScoreSchema>;

export const PredictionSchema = z.object({
  protocol: Protocol,
  modelVersion: z.number().int().positive(),
  frameId: z.string().max(200),
  capturedAt: Timestamp,
  topK: z.array(ClassScoreSchema).min(1).max(20),
  latencyMs: z.number().nonnegative(),
  /** Which of the device's cameras took the frame; absent from single-camera agents before v0.2. */
  cameraId: CameraIdSchema.optional(),
});
export type Prediction = z.infer<typeof PredictionSchema>;

export const DeviceEventSchema = z.object({
  protocol: Protocol,
  type: z.enum([
    'model-installed',
    'model-install-failed',
    /** Which variant (int8/fp32) a model install chose, with both timings (a camera's, with cameraId). */
    'model-variant-chosen',
    'camera-error',
    'agent-error',
    'sample-dropped',
    'config-applied',
    'config-reverted',
    'config-rejected',
  ]),
  message: z.string().max(2000),
  modelVersion: z.number().int().positive().optional(),
  /** The camera a camera-error (or a sample-dropped) is about. */
  cameraId: CameraIdSchema.optional(),
  at: Timestamp,
});
export type DeviceEvent = z.infer<typeof DeviceEventSchema>;
