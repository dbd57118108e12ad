/** Model versions: upload, list, signed manifests and files, assignment to devices. */
import { z } from 'zod';
import { AssignModelSchema, ModelVersionSummarySchema } from '../../schemas/http.ts';
import { ManifestSchema } from '../../schemas/manifest.ts';
import { AssignedDevicesSchema, ModelFileParamsSchema, VersionParamsSchema } from '../bodies.ts';
import { defineRoute } from '../route.ts';

/** Multipart model upload: text fields, then one file field per manifest file, named as in it. */
export const ModelUploadFormSchema = z
  .object({
    manifest: z.string().meta({ description: 'manifest.json (unsigned; the control plane signs it)' }),
    metrics: z.string().optional().meta({ description: 'metrics.json' }),
    lineage: z.string().optional().meta({ description: 'ModelLineage as JSON' }),
  })
  .catchall(z.file());

export const modelRoutes = {
  publishModel: defineRoute({
    id: 'publishModel',
    method: 'POST',
    path: '/models',
    tag: 'models',
    summary: 'Upload a model folder as a new version',
    description:
      'Files are checked against the manifest (size, sha256, roles), the manifest is signed with the control plane key.',
    access: ['admin'],
    body: { type: 'multipart', schema: ModelUploadFormSchema },
    bodyLimit: { limit: 'modelMaxBytes', overheadBytes: 1024 * 1024 },
    responses: { 201: { type: 'json', schema: ModelVersionSummarySchema, description: 'published' } },
  }),
  listModels: defineRoute({
    id: 'listModels',
    method: 'GET',
    path: '/models',
    tag: 'models',
    summary: 'Every model version with its metrics',
    access: ['viewer'],
    responses: {
      200: {
        type: 'json',
        schema: z.object({ models: z.array(ModelVersionSummarySchema) }),
        description: 'versions',
      },
    },
  }),
  getManifest: defineRoute({
    id: 'getManifest',
    method: 'GET',
    path: '/models/{version}/manifest',
    tag: 'models',
    summary: "A version's signed manifest",
    access: ['device', 'viewer'],
    params: VersionParamsSchema,
    responses: { 200: { type: 'json', schema: ManifestSchema, description: 'signed manifest' } },
  }),
  getRollbackManifest: defineRoute({
    id: 'getRollbackManifest',
    method: 'GET',
    path: '/models/{version}/rollback-manifest',
    tag: 'models',
    summary: 'The manifest that allows going back to an older version, once a rollback is ordered',
    access: ['device', 'viewer'],
    params: VersionParamsSchema,
    responses: { 200: { type: 'json', schema: ManifestSchema, description: 'signed rollback manifest' } },
  }),
  getModelFile: defineRoute({
    id: 'getModelFile',
    method: 'GET',
    path: '/models/{version}/files/{name}',
    tag: 'models',
    summary: "One of a version's files (HTTP Range supported)",
    description:
      'With an S3 object store a device is redirected (307) to a short-lived presigned GET URL of ' +
      'the file instead; it still checks the sha256 the signed manifest gives.',
    access: ['device', 'viewer'],
    params: ModelFileParamsSchema,
    responses: {
      307: { type: 'redirect', description: 'the file at a presigned object-storage URL (devices)' },
      200: { type: 'binary', contentType: 'application/octet-stream', description: 'the file' },
      206: { type: 'binary', contentType: 'application/octet-stream', description: 'the requested range' },
    },
  }),
  assignModel: defineRoute({
    id: 'assignModel',
    method: 'POST',
    path: '/assignments',
    tag: 'models',
    summary: 'Set the desired version of devices directly (no staging; rollouts are the safe way)',
    description:
      "To a group, tags or all it also sets that selector's target version (GET /fleet/targets) and " +
      'leaves out pinned devices and devices a rollout in progress holds; naming a pinned device is ' +
      'refused (409).',
    access: ['admin'],
    body: { type: 'json', schema: AssignModelSchema },
    responses: { 200: { type: 'json', schema: AssignedDevicesSchema, description: 'devices assigned' } },
  }),
} as const;
