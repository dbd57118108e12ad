/**
 * metrics.json: what training measured, written by `edgeloop train` (the `quantization` section by
 * its int8 step) and read by publish, the control plane's registry, the pipeline's evaluate step,
 * model comparison and `train --init-from`.
 *
 * TrainMetricsSchema is what the trainer writes (its TrainMetrics type is inferred from it, so the
 * writer cannot drift from the readers). ModelMetricsSchema is what readers accept: every field
 * this file knows is type-checked when present, none is required (older folders, imported models
 * and hand-made uploads carry fewer), and unknown top-level fields pass through untouched. Nested
 * sections are plain objects (so the trainer's own interfaces fit them): a reader that must keep
 * unknown nested fields too stores the JSON it validated, not the parsed value.
 */
import { z } from 'zod';
import { EvaluationSchema } from '../schemas/loop.ts';
import { LabelsSchema } from './labels.ts';

/** Accuracy, precision, recall, agreement: a fraction of images. */
const Fraction = z.number().min(0).max(1);
const Count = z.number().int().nonnegative();
const Seconds = z.number().nonnegative();

export const EpochMetricsSchema = z.object({
  epoch: Count,
  loss: z.number(),
  accuracy: Fraction,
  valLoss: z.number(),
  valAccuracy: Fraction,
  learningRate: z.number().optional(),
  imagesPerSec: z.number().optional(),
  seconds: Seconds.optional(),
});
export type EpochMetrics = z.infer<typeof EpochMetricsSchema>;

export const ClassReportSchema = z.object({
  label: z.string(),
  support: Count,
  precision: Fraction,
  recall: Fraction,
  f1: Fraction.optional(),
});
export type ClassReport = z.infer<typeof ClassReportSchema>;

/** confusion[true][predicted], image counts. */
export const ConfusionSchema = z.array(z.array(Count));

export const TestMetricsSchema = z.object({
  accuracy: Fraction,
  perClass: z.array(ClassReportSchema),
  confusion: ConfusionSchema,
  macroF1: Fraction,
});

const LatencySchema = z.object({ p50: z.number().nonnegative(), p95: z.number().nonnegative() });

/**
 * How far an ECE measured on a few hundred frames can be trusted (trainer/src/evaluate/
 * calibration-uncertainty.ts): equal-mass-bin ECE, a bootstrap 95% interval, and the ECE a
 * perfectly calibrated model with the same confidences would show on as many frames.
 */
export const EceDetailSchema = z.object({
  adaptive: Fraction,
  interval: z.tuple([Fraction, Fraction]),
  noiseFloor: z.object({ mean: Fraction, p95: Fraction }),
  /** ECE when each fold is calibrated by a temperature fitted on the other folds only. */
  crossFit: Fraction.optional(),
});
export type EceDetail = z.infer<typeof EceDetailSchema>;

/** The int8 step's section: both models scored on the same images. */
export const QuantizationMetricsSchema = z.object({
  method: z.enum(['minmax', 'percentile', 'entropy']),
  calibrationImages: Count,
  evaluatedOn: z.enum(['validation', 'train']),
  images: Count,
  fp32Accuracy: Fraction,
  int8Accuracy: Fraction,
  agreement: Fraction,
  fp32Bytes: Count,
  int8Bytes: Count,
  sizeRatio: z.number().nonnegative(),
  /** Per image, batch 1, 1 onnxruntime thread: what a device sees. */
  fp32LatencyMs: LatencySchema,
  int8LatencyMs: LatencySchema,
  fusedActivations: Count,
  floatNodes: z.array(z.string()),
  /** Expected calibration error (15 bins) of both models on the same images. */
  fp32Ece: Fraction.optional(),
  int8Ece: Fraction.optional(),
  int8EceDetail: EceDetailSchema.optional(),
  /** Residual temperature folded into the int8 model after quantizing (1: none needed). */
  int8Temperature: z.number().positive().optional(),
  /**
   * Why the residual was or was not folded: its cross-fitted validation NLL against the NLL
   * without it (folded only when it helps on frames its fit did not see).
   */
  int8TemperatureCheck: z
    .object({ fitted: z.number().positive(), nllAsIs: z.number(), nllCrossFit: z.number() })
    .optional(),
});
export type QuantizationMetrics = z.infer<typeof QuantizationMetricsSchema>;

/** Temperature scaling fitted after training (see trainer/src/evaluate/calibration.ts). */
export const CalibrationMetricsSchema = z.object({
  temperature: z.number().positive(),
  /** Where T was fitted and ECE measured: the validation split, or the training split without one. */
  fittedOn: z.enum(['validation', 'train']),
  images: Count,
  bins: Count,
  eceBefore: Fraction,
  eceAfter: Fraction,
  eceAfterDetail: EceDetailSchema.optional(),
  nllBefore: z.number().nonnegative(),
  nllAfter: z.number().nonnegative(),
  /** Recommended capture thresholds, also carried in manifest.json's `confidence`. */
  targetCaptureRate: Fraction,
  lowConfidenceThreshold: Fraction,
  classThresholds: z.record(z.string(), Fraction),
});
export type CalibrationMetrics = z.infer<typeof CalibrationMetricsSchema>;

/** The training settings a run used, and which of them were defaults and why. */
export const RecipeMetricsSchema = z.object({
  /** 'pretrained-base' (picked from the base and the dataset) or 'from-scratch'. */
  rule: z.string(),
  /** One line on why these values, for people reading metrics.json. */
  reason: z.string(),
  values: z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()])),
  /** Names of the settings that came from the defaults (the rest were given). */
  defaulted: z.array(z.string()),
});

/** `--budget`: every candidate recipe tried, and which one won. */
export const RecipeSearchSchema = z.object({
  budgetSeconds: Seconds,
  seconds: Seconds,
  candidates: z.array(
    z.object({
      name: z.string(),
      values: z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()])),
      valAccuracy: Fraction.nullable(),
      valLoss: z.number().nullable(),
      seconds: Seconds,
      /** What the search expected it to take, from the first candidate's measured cost. */
      estimatedSeconds: Seconds.optional(),
      /** Why a candidate has no figures (skipped for lack of time). */
      skipped: z.string().optional(),
    }),
  ),
  winner: z.string(),
});

export const TrainMetricsSchema = z.looseObject({
  name: z.string().min(1),
  /** The model folder this one continued from, if any. */
  parent: z.string().nullable(),
  labels: LabelsSchema,
  architecture: z.object({
    family: z.string().min(1),
    alpha: z.number().positive(),
    inputSize: z.number().int().positive(),
    hiddenUnits: z.number().int().positive().nullable().optional(),
  }),
  backend: z.string(),
  trainImages: Count,
  valImages: Count,
  testImages: Count.optional(),
  fieldSamplesUsed: Count,
  /** Control-plane ids of the field samples this training used. */
  sampleIds: z.array(z.string()),
  epochsRun: Count,
  bestEpoch: Count,
  history: z.array(EpochMetricsSchema),
  /** Accuracy of the best checkpoint (tfjs) on the unaugmented training split. */
  trainAccuracy: Fraction.optional(),
  valAccuracy: Fraction,
  /** Held-out test split accuracy of the exported ONNX model; null without a test split. */
  testAccuracy: Fraction.nullable().optional(),
  onnxValAccuracy: Fraction,
  onnxAgreement: Fraction,
  onnxMaxAbsDiff: z.number().nonnegative(),
  /** Validation per-class metrics and confusion[true][predicted] of the exported model. */
  perClass: z.array(ClassReportSchema),
  confusion: ConfusionSchema,
  macroF1: Fraction.optional(),
  test: TestMetricsSchema.nullable().optional(),
  classCounts: z
    .object({
      train: z.record(z.string(), Count),
      validation: z.record(z.string(), Count),
      test: z.record(z.string(), Count),
    })
    .optional(),
  /** How class imbalance was handled: 'weights' (loss weights below), 'sampling' or 'none'. */
  balance: z.string().optional(),
  classWeights: z.record(z.string(), z.number()),
  /** Pixel normalisation (pixel - mean) / std per RGB channel, folded into model.onnx. */
  normalization: z
    .object({ mean: z.array(z.number()).length(3), std: z.array(z.number().positive()).length(3) })
    .optional(),
  base: z
    .object({
      source: z.string(),
      sha256: z.string(),
      loaded: Count,
      headInitialised: z.array(z.string()),
      unused: z.array(z.string()),
    })
    .nullable()
    .optional(),
  freeze: z.string().optional(),
  augmentation: z.object({ enabled: z.boolean(), variants: Count.nullable() }).optional(),
  bottleneckCache: z
    .object({
      cutLayer: z.string(),
      cached: z.boolean(),
      runtime: z.string(),
      hits: Count,
      misses: Count,
      seconds: Seconds,
    })
    .nullable()
    .optional(),
  skipped: z.array(z.object({ path: z.string(), reason: z.string() })),
  duplicates: Count,
  duplicateFiles: z.array(z.object({ path: z.string(), sameAs: z.string() })).optional(),
  trainSeconds: Seconds,
  imagesPerSec: z.number().nonnegative(),
  totalSeconds: Seconds,
  recipe: RecipeMetricsSchema.optional(),
  search: RecipeSearchSchema.optional(),
  calibration: CalibrationMetricsSchema.optional(),
  /** Added by the int8 step. */
  quantization: QuantizationMetricsSchema.optional(),
  /** Added by the control plane's pipeline: the candidate on the project's fixed evaluation set. */
  fixedSet: EvaluationSchema.optional(),
  /** Added by the pipeline: top-1 accuracy on the field-hard images, null when there were none. */
  fieldHard: z.object({ accuracy: Fraction, images: Count }).nullable().optional(),
});
export type TrainMetrics = z.infer<typeof TrainMetricsSchema>;

/** What readers accept (see the file comment): known fields typed, none required, the rest kept. */
export const ModelMetricsSchema = TrainMetricsSchema.partial();
export type ModelMetrics = z.infer<typeof ModelMetricsSchema>;

/**
 * The figures the pipeline and model comparison rank by: `fixedSet` when the pipeline added it,
 * else the trainer's validation figures of the exported model. Null when the file has neither.
 */
export function evaluationFigures(
  metrics: ModelMetrics,
): { accuracy: number; perClass: ClassReport[]; confusion: number[][] } | null {
  if (metrics.fixedSet) return metrics.fixedSet;
  const { valAccuracy, perClass, confusion } = metrics;
  if (valAccuracy === undefined || perClass === undefined || confusion === undefined) return null;
  return { accuracy: valAccuracy, perClass, confusion };
}
