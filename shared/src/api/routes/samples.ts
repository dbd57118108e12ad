/** Frames the devices were unsure about: upload (devices), list and view (people). */
import { z } from 'zod';
import { SampleSchema } from '../../schemas/http.ts';
import { IdParamsSchema, SampleListQuerySchema, SampleUploadedSchema } from '../bodies.ts';
import { defineRoute } from '../route.ts';
import {
  SampleCommitSchema,
  SampleUploadRequestSchema,
  SampleUploadSlotSchema,
} from '../sample-transfer-bodies.ts';

export const SampleUploadFormSchema = z.object({
  metadata: z.string().meta({ description: 'SampleMetadata as JSON (with an idempotency key)' }),
  image: z.file().meta({ description: 'the frame: JPEG, PNG or WebP' }),
});

export const sampleRoutes = {
  uploadSample: defineRoute({
    id: 'uploadSample',
    method: 'POST',
    path: '/samples',
    tag: 'samples',
    summary: 'A device uploads a frame it was unsure about',
    description:
      'Stored once per idempotency key and per image content; a repeat answers 200 with the first.',
    access: ['device'],
    body: { type: 'multipart', schema: SampleUploadFormSchema },
    bodyLimit: { limit: 'sampleMaxBytes', overheadBytes: 64 * 1024 },
    responses: {
      201: { type: 'json', schema: SampleUploadedSchema, description: 'stored' },
      200: { type: 'json', schema: SampleUploadedSchema, description: 'already stored (duplicate)' },
    },
  }),
  requestSampleUpload: defineRoute({
    id: 'requestSampleUpload',
    method: 'POST',
    path: '/samples/uploads',
    tag: 'samples',
    summary: 'A device asks where to upload a frame: a presigned PUT URL, or "post it here"',
    description:
      'With an S3 object store the answer is a short-lived PUT URL for an object the control plane ' +
      'names (per device and idempotency key), with the content type, length and sha256 pinned; ' +
      'the device PUTs the image there and then commits it. Otherwise it says to use POST /samples. ' +
      'Counted against the device quota like an upload.',
    access: ['device'],
    body: { type: 'json', schema: SampleUploadRequestSchema },
    responses: { 200: { type: 'json', schema: SampleUploadSlotSchema, description: 'where to send it' } },
  }),
  commitSampleUpload: defineRoute({
    id: 'commitSampleUpload',
    method: 'POST',
    path: '/samples/uploads/commit',
    tag: 'samples',
    summary: 'A device says the frame it PUT to object storage is there; stored and recorded once',
    description:
      'The control plane reads the uploaded object back (bounded by the sample size limit), checks ' +
      'its length and sha256 and that it is an image, records the sample, and only then answers. ' +
      'A repeat (same idempotency key) answers 200 with the first. 409 UPLOAD_MISSING when nothing ' +
      'was uploaded, 409 UPLOAD_MISMATCH when the object is not what the commit declares (it is ' +
      'deleted; upload again).',
    access: ['device'],
    body: { type: 'json', schema: SampleCommitSchema },
    responses: {
      201: { type: 'json', schema: SampleUploadedSchema, description: 'stored' },
      200: { type: 'json', schema: SampleUploadedSchema, description: 'already stored (duplicate)' },
    },
  }),
  listSamples: defineRoute({
    id: 'listSamples',
    method: 'GET',
    path: '/samples',
    tag: 'samples',
    summary: 'Samples, newest first, paged',
    access: ['viewer'],
    query: SampleListQuerySchema,
    responses: {
      200: {
        type: 'json',
        schema: z.object({ samples: z.array(SampleSchema), total: z.number() }),
        description: 'a page',
      },
    },
  }),
  getSampleImage: defineRoute({
    id: 'getSampleImage',
    method: 'GET',
    path: '/samples/{id}/image',
    tag: 'samples',
    summary: "A sample's image",
    access: ['viewer'],
    params: IdParamsSchema,
    responses: { 200: { type: 'binary', contentType: 'image/*', description: 'the image as uploaded' } },
  }),
} as const;
