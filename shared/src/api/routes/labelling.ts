/** The labelling queue, label actions and the project's classes. */
import {
  AddClassSchema,
  BulkConfirmResponseSchema,
  BulkConfirmSchema,
  LabelActionSchema,
  LabelledSampleSchema,
  LabelQueueSchema,
} from '../../schemas/loop.ts';
import {
  ClassListSchema,
  IdParamsSchema,
  LabelledSampleDetailSchema,
  LabelQueueQuerySchema,
} from '../bodies.ts';
import { defineRoute } from '../route.ts';

export const labellingRoutes = {
  getLabelQueue: defineRoute({
    id: 'getLabelQueue',
    method: 'GET',
    path: '/labelling/queue',
    tag: 'labelling',
    summary: 'Unlabelled samples, the most informative first',
    access: ['viewer'],
    query: LabelQueueQuerySchema,
    responses: { 200: { type: 'json', schema: LabelQueueSchema, description: 'the queue' } },
  }),
  bulkConfirm: defineRoute({
    id: 'bulkConfirm',
    method: 'POST',
    path: '/labelling/bulk-confirm',
    tag: 'labelling',
    summary: "Confirm the device's own top-1 as the label of many samples",
    access: ['operator'],
    body: { type: 'json', schema: BulkConfirmSchema },
    responses: {
      200: { type: 'json', schema: BulkConfirmResponseSchema, description: 'what was confirmed' },
    },
  }),
  labelSample: defineRoute({
    id: 'labelSample',
    method: 'POST',
    path: '/labelling/samples/{id}',
    tag: 'labelling',
    summary: 'Confirm, correct, mark as none of the classes, or skip one sample',
    access: ['operator'],
    params: IdParamsSchema,
    body: { type: 'json', schema: LabelActionSchema },
    responses: { 200: { type: 'json', schema: LabelledSampleSchema, description: 'the sample now' } },
  }),
  getLabelledSample: defineRoute({
    id: 'getLabelledSample',
    method: 'GET',
    path: '/labelling/samples/{id}',
    tag: 'labelling',
    summary: 'One sample with its label history',
    access: ['viewer'],
    params: IdParamsSchema,
    responses: {
      200: { type: 'json', schema: LabelledSampleDetailSchema, description: 'sample and history' },
    },
  }),
  listClasses: defineRoute({
    id: 'listClasses',
    method: 'GET',
    path: '/classes',
    tag: 'labelling',
    summary: 'Classes known from models, datasets and added by hand',
    access: ['viewer'],
    responses: { 200: { type: 'json', schema: ClassListSchema, description: 'classes' } },
  }),
  addClass: defineRoute({
    id: 'addClass',
    method: 'POST',
    path: '/classes',
    tag: 'labelling',
    summary: 'Add a class',
    access: ['operator'],
    body: { type: 'json', schema: AddClassSchema },
    responses: {
      201: { type: 'json', schema: ClassListSchema, description: 'added' },
      200: { type: 'json', schema: ClassListSchema, description: 'already known' },
    },
  }),
} as const;
