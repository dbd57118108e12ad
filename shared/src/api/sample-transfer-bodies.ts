/**
 * Bodies of a sample sent straight to object storage: the device asks for an upload slot, PUTs the
 * image to the presigned URL it got, then commits. Without presigned transfers (the local object
 * store) the slot says so and the device posts the image to the control plane as before.
 */
import { z } from 'zod';
import { PROTOCOL_VERSION } from '../protocol.ts';
import { SampleMetadataSchema } from '../schemas/http.ts';
import { Sha256HexSchema } from '../schemas/manifest.ts';

const Protocol = z.literal(PROTOCOL_VERSION);

/** The image types a sample may be; the control plane checks the bytes agree at commit. */
export const SampleContentTypeSchema = z.enum(['image/jpeg', 'image/png', 'image/webp']);

export const SampleUploadRequestSchema = z.object({
  protocol: Protocol,
  idempotencyKey: SampleMetadataSchema.shape.idempotencyKey,
  bytes: z.number().int().positive(),
  sha256: Sha256HexSchema,
  contentType: SampleContentTypeSchema,
});
export type SampleUploadRequest = z.infer<typeof SampleUploadRequestSchema>;

export const SampleUploadSlotSchema = z.discriminatedUnion('transfer', [
  z.object({
    protocol: z.number().int(),
    /** PUT the image to `url` with exactly these headers, before `expiresAt`; then commit. */
    transfer: z.literal('presigned'),
    url: z.string().meta({ description: 'a bearer credential until expiresAt: never log it' }),
    headers: z.record(z.string(), z.string()),
    expiresAt: z.iso.datetime(),
  }),
  z.object({
    protocol: z.number().int(),
    /** No presigned transfers here: POST the image to /samples instead. */
    transfer: z.literal('control-plane'),
  }),
]);
export type SampleUploadSlot = z.infer<typeof SampleUploadSlotSchema>;

export const SampleCommitSchema = z.object({
  protocol: Protocol,
  metadata: SampleMetadataSchema,
  bytes: z.number().int().positive(),
  sha256: Sha256HexSchema,
});
export type SampleCommit = z.infer<typeof SampleCommitSchema>;
