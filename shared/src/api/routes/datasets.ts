/** Datasets (imported images) and dataset versions (immutable snapshots the pipeline trains on). */
import { z } from 'zod';
import { ClassNameSchema } from '../../schemas/class-name.ts';
import {
  CreateDatasetVersionSchema,
  DatasetImportResultSchema,
  DatasetImportSchema,
  DatasetSummarySchema,
  DatasetVersionSchema,
} from '../../schemas/loop.ts';
import {
  DatasetImageAddedSchema,
  DatasetImagePageSchema,
  DatasetImageParamsSchema,
  DatasetVersionDetailSchema,
  IdParamsSchema,
  NameParamsSchema,
  PageQuerySchema,
} from '../bodies.ts';
import { defineRoute } from '../route.ts';

export const DatasetImageFormSchema = z.object({
  image: z.file().meta({ description: 'JPEG, PNG or WebP' }),
  label: ClassNameSchema,
  source: z.string().max(1024).optional().meta({ description: 'where it came from (recorded)' }),
});

export const datasetRoutes = {
  listDatasets: defineRoute({
    id: 'listDatasets',
    method: 'GET',
    path: '/datasets',
    tag: 'datasets',
    summary: 'Datasets with their image counts per class',
    access: ['viewer'],
    responses: {
      200: {
        type: 'json',
        schema: z.object({ datasets: z.array(DatasetSummarySchema) }),
        description: 'datasets',
      },
    },
  }),
  listDatasetImages: defineRoute({
    id: 'listDatasetImages',
    method: 'GET',
    path: '/datasets/{name}/images',
    tag: 'datasets',
    summary: "A dataset's images, paged",
    access: ['viewer'],
    params: NameParamsSchema,
    query: PageQuerySchema,
    responses: { 200: { type: 'json', schema: DatasetImagePageSchema, description: 'a page' } },
  }),
  addDatasetImage: defineRoute({
    id: 'addDatasetImage',
    method: 'POST',
    path: '/datasets/{name}/images',
    tag: 'datasets',
    summary: 'Add one labelled image to a dataset',
    access: ['operator'],
    params: NameParamsSchema,
    body: { type: 'multipart', schema: DatasetImageFormSchema },
    bodyLimit: { limit: 'sampleMaxBytes', overheadBytes: 64 * 1024 },
    responses: {
      201: { type: 'json', schema: DatasetImageAddedSchema, description: 'added' },
      200: { type: 'json', schema: DatasetImageAddedSchema, description: 'already in the dataset' },
    },
  }),
  importDataset: defineRoute({
    id: 'importDataset',
    method: 'POST',
    path: '/datasets/{name}/import',
    tag: 'datasets',
    summary: 'Import labelled images from the object store or from URLs',
    access: ['operator'],
    params: NameParamsSchema,
    body: { type: 'json', schema: DatasetImportSchema },
    responses: { 200: { type: 'json', schema: DatasetImportResultSchema, description: 'what was added' } },
  }),
  createDatasetVersion: defineRoute({
    id: 'createDatasetVersion',
    method: 'POST',
    path: '/dataset-versions',
    tag: 'datasets',
    summary: 'Snapshot a dataset plus labelled samples as an immutable version',
    access: ['operator'],
    body: { type: 'json', schema: CreateDatasetVersionSchema },
    responses: {
      201: { type: 'json', schema: DatasetVersionSchema, description: 'created' },
      200: { type: 'json', schema: DatasetVersionSchema, description: 'an identical version exists' },
    },
  }),
  listDatasetVersions: defineRoute({
    id: 'listDatasetVersions',
    method: 'GET',
    path: '/dataset-versions',
    tag: 'datasets',
    summary: 'Every dataset version',
    access: ['viewer'],
    responses: {
      200: {
        type: 'json',
        schema: z.object({ versions: z.array(DatasetVersionSchema) }),
        description: 'versions',
      },
    },
  }),
  getDatasetVersion: defineRoute({
    id: 'getDatasetVersion',
    method: 'GET',
    path: '/dataset-versions/{id}',
    tag: 'datasets',
    summary: 'One dataset version with every entry',
    access: ['viewer'],
    params: IdParamsSchema,
    responses: {
      200: { type: 'json', schema: DatasetVersionDetailSchema, description: 'version and entries' },
    },
  }),
  getDatasetVersionImage: defineRoute({
    id: 'getDatasetVersionImage',
    method: 'GET',
    path: '/dataset-versions/{id}/images/{sha256}',
    tag: 'datasets',
    summary: 'One image of a dataset version, by content hash',
    access: ['viewer'],
    params: DatasetImageParamsSchema,
    responses: { 200: { type: 'binary', contentType: 'image/*', description: 'the image' } },
  }),
} as const;
