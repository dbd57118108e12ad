/**
 * How a device runs its model, as it reports it (ReportedState.health.inference): the onnxruntime
 * execution provider it loaded and, for a model that ships int8 and fp32, which variant it chose
 * and what each measured on the device.
 */
import { z } from 'zod';
import { ModelVariantSchema } from './manifest.ts';

export const ExecutionProviderSchema = z.enum(['tensorrt', 'cuda', 'cpu']);
export type ExecutionProvider = z.infer<typeof ExecutionProviderSchema>;

/** `inference.executionProviders: "auto"`: the fastest provider first, the CPU always last. */
export const AUTO_EXECUTION_PROVIDERS: readonly ExecutionProvider[] = ['tensorrt', 'cuda', 'cpu'];

/** One variant's result at install: median ms per warm inference, or why it was not measured. */
export const VariantTimingSchema = z.object({
  variant: ModelVariantSchema,
  /** Median milliseconds per warm inference on a blank frame; null when it was not timed. */
  medianMs: z.number().nonnegative().nullable(),
  /** Why the variant cannot serve (its load or smoke test failed); absent when it passed. */
  failed: z.string().max(500).optional(),
});
export type VariantTiming = z.infer<typeof VariantTimingSchema>;

/**
 * Why the variant serving was chosen: the faster of those that passed (`measured`), the only one
 * the manifest lists or that passed (`only`), the configured `inference.variant` (`config`), or
 * the choice measured at install and kept on disk (`persisted`: restarts do not measure again).
 */
export const VariantReasonSchema = z.enum(['measured', 'only', 'config', 'persisted']);

export const VariantChoiceSchema = z.object({
  modelVersion: z.number().int().positive(),
  variant: ModelVariantSchema,
  reason: VariantReasonSchema,
  /** The execution provider the timings were taken on. */
  executionProvider: ExecutionProviderSchema,
  timings: z.array(VariantTimingSchema).max(2),
  measuredAt: z.iso.datetime(),
});
export type VariantChoice = z.infer<typeof VariantChoiceSchema>;

export const InferenceReportSchema = z.object({
  /** The provider the device's model session runs on (the start-up probe's before any model). */
  executionProvider: ExecutionProviderSchema,
  /** The device model's variant choice; absent without a model. */
  variant: VariantChoiceSchema.optional(),
});
export type InferenceReport = z.infer<typeof InferenceReportSchema>;
