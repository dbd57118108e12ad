/**
 * HTTP bodies of the learning loop (docs/protocol.md §3.2): labelling, datasets and their
 * versions, the model registry (lineage, aliases, comparison, promotion) and the retraining pipeline.
 */
import { z } from 'zod';
import { PROTOCOL_VERSION } from '../protocol.ts';
import { ClassNameSchema } from './class-name.ts';
import { SampleSchema } from './http.ts';

const Protocol = z.literal(PROTOCOL_VERSION);

/** Who did something: sent as the `X-Edgeloop-Actor` header by admin clients, or `admin`. */
export const ActorSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/, 'expected 1-128 characters A-Z, a-z, 0-9, . _ @ -');
export const ACTOR_HEADER = 'x-edgeloop-actor';

// ---- Labelling ----

/** What a label means: the device was right, a person changed it, or no class fits the image. */
export const LabelStatusSchema = z.enum(['confirmed', 'corrected', 'none']);
export type LabelStatus = z.infer<typeof LabelStatusSchema>;

export const LabelActionSchema = z
  .object({
    protocol: Protocol,
    /** confirm: take the device's top-1; correct: use `label`; none: no class fits; skip: later. */
    action: z.enum(['confirm', 'correct', 'none', 'skip']),
    label: ClassNameSchema.optional(),
    /** Allows `label` to be a class the project does not know yet, adding it. */
    newClass: z.boolean().default(false),
  })
  .refine((a) => a.action !== 'correct' || a.label !== undefined, {
    message: "action 'correct' needs a label",
    path: ['label'],
  });
export type LabelAction = z.infer<typeof LabelActionSchema>;

export const LabelledSampleSchema = SampleSchema.extend({
  labelStatus: LabelStatusSchema.nullable(),
  /** The device's top-1 prediction, shown as the pre-label. */
  preLabel: z.string().nullable(),
  skippedAt: z.string().nullable(),
});
export type LabelledSample = z.infer<typeof LabelledSampleSchema>;

export const LabelQueueSchema = z.object({
  samples: z.array(LabelledSampleSchema),
  /** Unlabelled samples in all (the queue shows at most `limit`). */
  total: z.number().int(),
});

export const BulkConfirmSchema = z.object({
  protocol: Protocol,
  sampleIds: z.array(z.string().min(1)).min(1).max(1000),
});
export const BulkConfirmResponseSchema = z.object({
  confirmed: z.array(z.string()),
  skipped: z.array(z.object({ sampleId: z.string(), reason: z.string() })),
});

export const LabelEventSchema = z.object({
  sampleId: z.string(),
  action: z.enum(['confirm', 'correct', 'none', 'skip', 'label']),
  label: z.string().nullable(),
  actor: z.string(),
  at: z.string(),
});
export type LabelEvent = z.infer<typeof LabelEventSchema>;

export const AddClassSchema = z.object({ protocol: Protocol, name: ClassNameSchema });
export const ClassInfoSchema = z.object({
  name: z.string(),
  /** classes: added by hand; model: a published model's label; dataset: a dataset image's label. */
  source: z.enum(['classes', 'model', 'dataset']),
});

// ---- Datasets ----

export const DatasetNameSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'expected a-z, 0-9 and -');
/** The project's fixed evaluation set: every dataset version carries it as its validation split. */
export const EVAL_DATASET = 'eval';

export const DatasetImageSchema = z.object({
  dataset: z.string(),
  sha256: z.string(),
  label: z.string(),
  bytes: z.number().int(),
  width: z.number().int(),
  height: z.number().int(),
  source: z.string(),
  addedBy: z.string(),
  addedAt: z.string(),
});
export type DatasetImage = z.infer<typeof DatasetImageSchema>;

export const DatasetSummarySchema = z.object({
  name: z.string(),
  images: z.number().int(),
  classes: z.record(z.string(), z.number().int()),
});

export const DatasetImportSchema = z.object({
  protocol: Protocol,
  source: z.discriminatedUnion('kind', [
    /** Keys `prefix/<class>/<file>` in the control plane's object store (a folder or S3 prefix). */
    z.object({ kind: z.literal('object-store'), prefix: z.string().max(1024) }),
    z.object({
      kind: z.literal('urls'),
      items: z
        .array(z.object({ url: z.url({ protocol: /^https?$/ }), label: ClassNameSchema }))
        .min(1)
        .max(10_000),
    }),
  ]),
});
export type DatasetImport = z.infer<typeof DatasetImportSchema>;

export const DatasetImportResultSchema = z.object({
  added: z.number().int(),
  duplicates: z.number().int(),
  failed: z.array(z.object({ source: z.string(), reason: z.string() })),
});
export type DatasetImportResult = z.infer<typeof DatasetImportResultSchema>;

export const DatasetSplitSchema = z.enum(['train', 'validation', 'field-hard']);
export type DatasetSplit = z.infer<typeof DatasetSplitSchema>;

export const CreateDatasetVersionSchema = z.object({
  protocol: Protocol,
  /** The dataset whose images form the training base (the fixed `eval` set is added as validation). */
  base: DatasetNameSchema.default('base'),
  /** Include images added and samples labelled up to this time (default: now). */
  until: z.iso.datetime().optional(),
});

export const DatasetVersionSchema = z.object({
  id: z.string(),
  base: z.string(),
  cutoff: z.string(),
  counts: z.record(DatasetSplitSchema, z.number().int()),
  classes: z.array(z.string()),
  createdBy: z.string(),
  createdAt: z.string(),
});
export type DatasetVersion = z.infer<typeof DatasetVersionSchema>;

export const DatasetVersionEntrySchema = z.object({
  split: DatasetSplitSchema,
  sha256: z.string(),
  label: z.string(),
  contentType: z.string(),
  sampleId: z.string().nullable(),
});
export type DatasetVersionEntry = z.infer<typeof DatasetVersionEntrySchema>;

// ---- Registry ----

export const ModelLineageSchema = z.object({
  /** Training parameters (architecture, alpha, input size, epochs, …). */
  parameters: z.record(z.string(), z.unknown()).default({}),
  datasetVersion: z.string().nullable().default(null),
  parentVersion: z.number().int().positive().nullable().default(null),
  createdBy: ActorSchema.optional(),
});
export type ModelLineage = z.infer<typeof ModelLineageSchema>;

export const AliasNameSchema = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'expected a-z, 0-9 and -');
export const SetAliasSchema = z.object({ protocol: Protocol, modelVersion: z.number().int().positive() });
export const ModelAliasSchema = z.object({
  alias: z.string(),
  modelVersion: z.number().int(),
  setBy: z.string(),
  setAt: z.string(),
});
export type ModelAlias = z.infer<typeof ModelAliasSchema>;

/** Per-class figures on an evaluation set, as the trainer's metrics.json reports them. */
export const ClassMetricsSchema = z.object({
  label: z.string(),
  support: z.number(),
  precision: z.number(),
  recall: z.number(),
});
export const EvaluationSchema = z.object({
  accuracy: z.number(),
  perClass: z.array(ClassMetricsSchema),
  confusion: z.array(z.array(z.number())),
});
export type Evaluation = z.infer<typeof EvaluationSchema>;

export const ModelComparisonSchema = z.object({
  a: z.number().int(),
  b: z.number().int(),
  accuracy: z.object({ a: z.number(), b: z.number(), delta: z.number() }),
  perClass: z.array(
    z.object({
      label: z.string(),
      a: ClassMetricsSchema.omit({ label: true }).nullable(),
      b: ClassMetricsSchema.omit({ label: true }).nullable(),
      /** b's recall minus a's; negative means b got worse on this class. */
      recallDelta: z.number().nullable(),
    }),
  ),
  confusion: z.object({
    a: z.object({ labels: z.array(z.string()), matrix: z.array(z.array(z.number())) }),
    b: z.object({ labels: z.array(z.string()), matrix: z.array(z.array(z.number())) }),
  }),
});
export type ModelComparison = z.infer<typeof ModelComparisonSchema>;

export const PromoteSchema = z.object({
  protocol: Protocol,
  /** Override the configured rule for this decision. */
  margin: z.number().min(0).max(1).optional(),
  tolerance: z.number().min(0).max(1).optional(),
});
export const PromotionDecisionSchema = z.object({
  candidate: z.number().int(),
  production: z.number().int().nullable(),
  promoted: z.boolean(),
  reason: z.string(),
  details: z.record(z.string(), z.unknown()),
  actor: z.string(),
  at: z.string(),
});
export type PromotionDecision = z.infer<typeof PromotionDecisionSchema>;

export const ModelDetailsSchema = z.object({
  modelVersion: z.number().int(),
  lineage: ModelLineageSchema.extend({ createdBy: z.string() }).nullable(),
  aliases: z.array(z.string()),
  promotions: z.array(PromotionDecisionSchema),
});

// ---- Retraining pipeline ----

export const PipelineStatusSchema = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']);
export const PipelineStepSchema = z.object({
  name: z.string(),
  status: z.enum(['pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled']),
  attempts: z.number().int(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  durationMs: z.number().nullable(),
  log: z.string(),
  artifacts: z.record(z.string(), z.unknown()),
  error: z.string().nullable(),
});
export type PipelineStep = z.infer<typeof PipelineStepSchema>;

export const PipelineRunSchema = z.object({
  id: z.string(),
  trigger: z.enum(['manual', 'schedule', 'labels']),
  status: PipelineStatusSchema,
  requestedBy: z.string(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  error: z.string().nullable(),
  steps: z.array(PipelineStepSchema),
});
export type PipelineRun = z.infer<typeof PipelineRunSchema>;

export const TriggerPipelineSchema = z.object({ protocol: Protocol });

/** What `edgeloop predict --json` prints. */
export const PredictOutputSchema = z.array(
  z.object({ image: z.string(), topK: z.array(z.object({ label: z.string(), confidence: z.number() })) }),
);

export const PipelineRunListSchema = z.object({ runs: z.array(PipelineRunSchema) });
