/**
 * What a device tells the control plane about a model update and about how its models behave in
 * the field. Both ride inside ReportedState (retained, QoS 1), so the latest of each survives a
 * reconnect and a control plane restart, and every transition is one message on the wire.
 */
import { z } from 'zod';

const Version = z.number().int().positive();

/**
 * Where the device is with the desired version: downloading into the inactive slot, verifying
 * (hashes, load, warm-up, smoke test), installed (verified and loaded, switching), active (serving
 * frames), or failed (the previous model keeps serving; `code` is an ErrorCode).
 */
export const UpdatePhaseSchema = z.enum(['downloading', 'verifying', 'installed', 'active', 'failed']);
export type UpdatePhase = z.infer<typeof UpdatePhaseSchema>;

export const UpdateProgressSchema = z.object({
  targetVersion: Version,
  phase: UpdatePhaseSchema,
  /** True when the target came from a manifest signed as a rollback. */
  rollback: z.boolean().default(false),
  code: z.string().max(64).optional(),
  /** Shadow mode: share of frames on which the candidate's top-1 label matched the active model's. */
  agreement: z.object({ frames: z.number().int().nonnegative(), rate: z.number().min(0).max(1) }).optional(),
  detail: z.string().max(500).optional(),
  at: z.iso.datetime(),
});
export type UpdateProgress = z.infer<typeof UpdateProgressSchema>;

/**
 * Confidence of one model version over the device's most recent predictions with it (a bounded
 * window, newest last). The control plane compares a new version's figures with the previous
 * version's figures from the same device to spot a model that is worse in the field.
 */
export const ModelConfidenceSchema = z.object({
  modelVersion: Version,
  predictions: z.number().int().nonnegative(),
  meanConfidence: z.number().min(0).max(1),
  /** Share of those predictions whose top-1 confidence was below `lowConfidenceThreshold`. */
  lowConfidenceRate: z.number().min(0).max(1),
  lowConfidenceThreshold: z.number().min(0).max(1),
  /** First prediction seen with this version, and the latest one. */
  since: z.iso.datetime(),
  until: z.iso.datetime(),
});
export type ModelConfidence = z.infer<typeof ModelConfidenceSchema>;
