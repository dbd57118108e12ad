/** Frames the devices were unsure about: upload (devices), list and view (people). */
import { z } from 'zod';
import { SampleSchema } from '../../schemas/http.ts';
import { IdParamsSchema, SampleListQuerySchema, SampleUploadedSchema } from '../bodies.ts';
import { defineRoute } from '../route.ts';

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
