/**
 * Files the agent keeps in its data dir. Not wire messages, but they cross a boundary all the same
 * (disk, across restarts and agent versions), so they are validated on every read.
 */
import { z } from 'zod';
import { TrustedKeySchema } from '../config/agent-config.ts';
import { PROTOCOL_VERSION } from '../protocol.ts';
import { EnrollResponseSchema, SampleMetadataSchema } from './http.ts';
import { VariantChoiceSchema } from './inference.ts';
import { Sha256HexSchema } from './manifest.ts';

const Protocol = z.literal(PROTOCOL_VERSION);

/** dataDir/credentials.json (mode 0600): what enrollment returned, kept for every later start. */
export const StoredCredentialsSchema = EnrollResponseSchema.extend({
  controlPlaneUrl: z.string(),
  enrolledAt: z.iso.datetime(),
  /** When the secret was last replaced (secret rotation); enrolledAt until then. */
  rotatedAt: z.iso.datetime().optional(),
  /** A rotation asked for but not known to have landed: tried again at the next start. */
  nextSecret: z.string().min(32).optional(),
});
export type StoredCredentials = z.infer<typeof StoredCredentialsSchema>;

export const ModelSlotSchema = z.enum(['a', 'b']);
export type ModelSlot = z.infer<typeof ModelSlotSchema>;

/**
 * dataDir/active.json, the pointer to the model slot the agent loads at start (without the
 * network). Replaced atomically (write, fsync, rename), so it names either the old or the new slot.
 */
export const ActiveModelRecordSchema = z.object({
  protocol: Protocol,
  slot: ModelSlotSchema,
  modelVersion: z.number().int().positive(),
  /** The highest version ever activated here: anti-rollback for manifests not signed as rollbacks. */
  highestVersion: z.number().int().positive(),
  activatedAt: z.iso.datetime(),
});
export type ActiveModelRecord = z.infer<typeof ActiveModelRecordSchema>;

/**
 * `.variant.json` in a model slot: the variant chosen at install and the chosen file's sha256, so a
 * restart loads it without timing both again. Ignored when it does not match the slot's manifest,
 * the configured variant or the execution provider in use (then the agent measures again).
 */
export const SlotVariantRecordSchema = z.object({
  protocol: Protocol,
  sha256: Sha256HexSchema,
  choice: VariantChoiceSchema,
});
export type SlotVariantRecord = z.infer<typeof SlotVariantRecordSchema>;

/** dataDir/queue/<key>.json beside <key>.jpg: one sample waiting for upload. */
export const QueuedSampleSchema = z.object({
  protocol: Protocol,
  /** Top-1 confidence; the queue uploads the lowest first and evicts the highest when full. */
  confidence: z.number().min(0).max(1),
  enqueuedAt: z.iso.datetime(),
  metadata: SampleMetadataSchema,
});
export type QueuedSample = z.infer<typeof QueuedSampleSchema>;

/**
 * dataDir/desired-trust.json: the highest desired-state sequence the agent accepted and the
 * manifest keys it trusts now (config.trustedKeys until the control plane rotates its key).
 */
export const DesiredTrustFileSchema = z.object({
  lastSequence: z.number().int().nonnegative(),
  trustedKeys: z.array(TrustedKeySchema).min(1),
});
export type DesiredTrustFile = z.infer<typeof DesiredTrustFileSchema>;
