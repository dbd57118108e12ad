/** The model registry beyond upload: aliases, lineage, side-by-side comparison and promotion. */
import { z } from 'zod';
import {
  ModelAliasSchema,
  ModelComparisonSchema,
  ModelDetailsSchema,
  ModelLineageSchema,
  PromoteSchema,
  PromotionDecisionSchema,
  SetAliasSchema,
} from '../../schemas/loop.ts';
import {
  CompareQuerySchema,
  LineageResponseSchema,
  ModelRefParamsSchema,
  NameParamsSchema,
} from '../bodies.ts';
import { defineRoute } from '../route.ts';

export const registryRoutes = {
  listAliases: defineRoute({
    id: 'listAliases',
    method: 'GET',
    path: '/aliases',
    tag: 'registry',
    summary: 'Model aliases (production, candidate, …)',
    access: ['viewer'],
    responses: {
      200: { type: 'json', schema: z.object({ aliases: z.array(ModelAliasSchema) }), description: 'aliases' },
    },
  }),
  setAlias: defineRoute({
    id: 'setAlias',
    method: 'PUT',
    path: '/aliases/{name}',
    tag: 'registry',
    summary: 'Point an alias at a version',
    access: ['operator'],
    params: NameParamsSchema,
    body: { type: 'json', schema: SetAliasSchema },
    responses: { 200: { type: 'json', schema: ModelAliasSchema, description: 'the alias now' } },
  }),
  compareModels: defineRoute({
    id: 'compareModels',
    method: 'GET',
    path: '/models/compare',
    tag: 'registry',
    summary: 'Two versions side by side: accuracy, per-class figures, confusion',
    access: ['viewer'],
    query: CompareQuerySchema,
    responses: { 200: { type: 'json', schema: ModelComparisonSchema, description: 'comparison' } },
  }),
  getModelDetails: defineRoute({
    id: 'getModelDetails',
    method: 'GET',
    path: '/models/{ref}/details',
    tag: 'registry',
    summary: "A version's lineage, aliases and promotion decisions",
    access: ['viewer'],
    params: ModelRefParamsSchema,
    responses: { 200: { type: 'json', schema: ModelDetailsSchema, description: 'details' } },
  }),
  setLineage: defineRoute({
    id: 'setLineage',
    method: 'PUT',
    path: '/models/{ref}/lineage',
    tag: 'registry',
    summary: "Record a version's lineage (parameters, dataset version, parent)",
    access: ['operator'],
    params: ModelRefParamsSchema,
    body: { type: 'json', schema: ModelLineageSchema },
    responses: { 200: { type: 'json', schema: LineageResponseSchema, description: 'the lineage now' } },
  }),
  promoteModel: defineRoute({
    id: 'promoteModel',
    method: 'POST',
    path: '/models/{ref}/promote',
    tag: 'registry',
    summary: 'Apply the promotion rule: make a candidate production if it beats it',
    access: ['operator'],
    params: ModelRefParamsSchema,
    body: { type: 'json', schema: PromoteSchema },
    responses: { 200: { type: 'json', schema: PromotionDecisionSchema, description: 'the decision' } },
  }),
} as const;
