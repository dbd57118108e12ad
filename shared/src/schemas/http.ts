/** HTTP request and response bodies of the control plane's API (see docs/protocol.md). */
import { z } from 'zod';
import { FrameEmbeddingSchema } from '../frame-embedding.ts';
import { PROTOCOL_VERSION } from '../protocol.ts';
import { DEVICE_ID_PATTERN } from '../topics.ts';
import { CameraIdSchema } from './camera-id.ts';
import { ClassScoreSchema } from './messages.ts';

const Protocol = z.literal(PROTOCOL_VERSION);

export const DeviceIdSchema = z.string().regex(DEVICE_ID_PATTERN, 'expected 3-63 characters a-z, 0-9 and -');

/** A device tag: a short lowercase slug (`site-a`, `outdoor`), so it fits in a CLI list and a URL. */
export const DeviceTagSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9:._-]{0,39}$/, 'expected 1-40 characters a-z, 0-9 and :._-');
/** A device's tags: a small set (duplicates are refused rather than silently merged). */
export const DeviceTagsSchema = z
  .array(DeviceTagSchema)
  .max(32)
  .refine((tags) => new Set(tags).size === tags.length, 'tags must not repeat');

/** updateDevice (PATCH /devices/{id}): what an admin or operator may change about a device. */
export const UpdateDeviceSchema = z
  .object({
    protocol: Protocol,
    group: z.string().min(1).max(64).optional(),
    tags: DeviceTagsSchema.optional(),
  })
  .refine((u) => u.group !== undefined || u.tags !== undefined, 'give group, tags or both');
export type UpdateDevice = z.infer<typeof UpdateDeviceSchema>;

export const CreateEnrollmentTokenSchema = z.object({
  protocol: Protocol,
  /** How many devices may enroll with this token. */
  uses: z.number().int().min(1).max(100_000).default(1),
  ttlSeconds: z
    .number()
    .int()
    .min(60)
    .max(30 * 24 * 3600)
    .default(24 * 3600),
  group: z.string().min(1).max(64).default('default'),
  /**
   * Lets a device enroll again under an id that already exists in the token's group (a device
   * that was wiped): it gets a new secret, the old one stops working, and the device keeps its
   * record (group, tags, pin, history) and is brought to its group's target version.
   */
  reenroll: z.boolean().default(false),
});
export type CreateEnrollmentToken = z.infer<typeof CreateEnrollmentTokenSchema>;

export const EnrollmentTokenResponseSchema = z.object({
  protocol: Protocol,
  token: z.string(),
  expiresAt: z.iso.datetime(),
  uses: z.number().int(),
});

export const EnrollRequestSchema = z.object({
  protocol: Protocol,
  token: z.string().min(16).max(200),
  /** Requested id; the control plane picks one when absent. */
  deviceId: DeviceIdSchema.optional(),
  name: z.string().min(1).max(128).optional(),
  hardware: z.string().max(128).optional(),
  /** Tags the device starts with; an admin or operator can change them later. */
  tags: DeviceTagsSchema.optional(),
  /**
   * A PEM PKCS #10 request for a client certificate (the device keeps the key): the device then
   * authenticates with that certificate (mTLS) and gets no secret. Needs the control plane on TLS.
   */
  csr: z.string().max(8192).startsWith('-----BEGIN CERTIFICATE REQUEST-----').optional(),
});
export type EnrollRequest = z.infer<typeof EnrollRequestSchema>;

export const EnrollResponseSchema = z.object({
  protocol: Protocol,
  deviceId: DeviceIdSchema,
  /** Shown once; the control plane keeps only a hash. Empty for a device that sent a CSR. */
  secret: z.string(),
  mqttUrl: z.string(),
  /** The client certificate issued for the CSR (PEM), naming the device (CN = device id). */
  certificate: z.string().optional(),
  /** The CA that signed the control plane's server certificate, for the device to pin. */
  serverCa: z.object({ pem: z.string(), fingerprint: z.string().regex(/^[0-9a-f]{64}$/) }).optional(),
});
export type EnrollResponse = z.infer<typeof EnrollResponseSchema>;

/**
 * A device held at one model version by an operator, whatever rollouts and group or tag targets
 * say (device pin > rollout in progress > group/tag target; docs/guides/rollouts.md).
 */
export const DevicePinSchema = z.object({
  modelVersion: z.number().int().positive(),
  reason: z.string().nullable(),
  pinnedBy: z.string(),
  pinnedAt: z.string(),
});
export type DevicePin = z.infer<typeof DevicePinSchema>;

/** pinDevice (PUT /devices/{id}/pin). */
export const PinDeviceSchema = z.object({
  protocol: Protocol,
  modelVersion: z.number().int().positive(),
  reason: z.string().min(1).max(500).optional(),
});
export type PinDevice = z.infer<typeof PinDeviceSchema>;

export const DeviceSummarySchema = z.object({
  deviceId: DeviceIdSchema,
  name: z.string().nullable(),
  group: z.string(),
  tags: z.array(z.string()),
  online: z.boolean(),
  lastSeenAt: z.string().nullable(),
  desiredVersion: z.number().int().nullable(),
  reportedVersion: z.number().int().nullable(),
  status: z.string().nullable(),
  /** The agent software version the device reports running (self-updates change it). */
  agentVersion: z.string().nullable(),
  enrolledAt: z.string(),
  /** Set while an operator holds the device at a version. */
  pin: DevicePinSchema.nullable(),
  /** A version is desired that the device does not report running yet. */
  converging: z.boolean(),
});
export type DeviceSummary = z.infer<typeof DeviceSummarySchema>;

export const AssignModelSchema = z.object({
  protocol: Protocol,
  modelVersion: z.number().int().positive(),
  /** Explicit device ids, every device of a group, every device having all the tags, or every device. */
  target: z.union([
    z.object({ deviceIds: z.array(DeviceIdSchema).min(1) }),
    z.object({ group: z.string().min(1) }),
    z.object({ tags: DeviceTagsSchema.min(1) }),
    z.object({ all: z.literal(true) }),
  ]),
});
export type AssignModel = z.infer<typeof AssignModelSchema>;

export const ModelVersionSummarySchema = z.object({
  modelVersion: z.number().int().positive(),
  name: z.string(),
  labels: z.array(z.string()),
  createdAt: z.string(),
  publishedAt: z.string(),
  metrics: z.record(z.string(), z.unknown()).nullable(),
  files: z.array(z.object({ name: z.string(), bytes: z.number(), sha256: z.string() })),
});
export type ModelVersionSummary = z.infer<typeof ModelVersionSummarySchema>;

export const CaptureReasonSchema = z.enum(['low-confidence', 'audit', 'manual']);
export type CaptureReason = z.infer<typeof CaptureReasonSchema>;

/** Metadata sent with a sample image (multipart field `metadata`). */
export const SampleMetadataSchema = z.object({
  protocol: Protocol,
  /** Client-chosen; a retried upload with the same key is stored once. */
  idempotencyKey: z.string().min(8).max(128),
  modelVersion: z.number().int().positive().nullable(),
  frameId: z.string().max(200),
  capturedAt: z.iso.datetime(),
  reason: CaptureReasonSchema,
  topK: z.array(ClassScoreSchema).max(20),
  /** The camera that took the frame; absent means the device's only camera. */
  cameraId: CameraIdSchema.optional(),
  /**
   * The model's features for the frame, compacted (frame-embedding.ts); absent when the model has
   * no `features` output. The labelling queue uses it to keep near-copies out of one batch.
   */
  embedding: FrameEmbeddingSchema.optional(),
});
export type SampleMetadata = z.infer<typeof SampleMetadataSchema>;

export const SampleSchema = z.object({
  sampleId: z.string(),
  deviceId: DeviceIdSchema,
  modelVersion: z.number().int().nullable(),
  frameId: z.string(),
  capturedAt: z.string(),
  receivedAt: z.string(),
  reason: CaptureReasonSchema,
  topK: z.array(ClassScoreSchema),
  confidence: z.number(),
  sha256: z.string(),
  bytes: z.number().int(),
  width: z.number().int(),
  height: z.number().int(),
  label: z.string().nullable(),
  labelledBy: z.string().nullable(),
  labelledAt: z.string().nullable(),
  usedInModelVersion: z.number().int().nullable(),
  /**
   * The camera that took it (SampleMetadata.cameraId); null when the device did not say. Optional
   * so agents still accept the answers of control planes from before several cameras.
   */
  cameraId: z.string().nullable().optional(),
});
export type Sample = z.infer<typeof SampleSchema>;

export const SampleUploadResponseSchema = z.object({
  protocol: Protocol,
  sampleId: z.string(),
  duplicate: z.boolean(),
});

export const ErrorBodySchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});
