/**
 * <outDir>/resume/state.json: what `train --resume` continues from, written after every epoch
 * (options of the run, fit state, and the weight specs of resume/optimizer.bin), and
 * checkpoint/model.json: a tfjs layers-model checkpoint (the format tf.io writes).
 */
import { z } from 'zod';
import { EpochMetricsSchema } from './metrics.ts';

/** A tf.io weights-manifest entry: one tensor in a weights file. */
export const WeightSpecSchema = z.object({
  name: z.string().min(1),
  shape: z.array(z.number().int().nonnegative()),
  dtype: z.enum(['float32', 'int32', 'bool', 'string', 'complex64']),
});

export const TfjsCheckpointSchema = z.object({
  modelTopology: z.record(z.string(), z.unknown()),
  weightsManifest: z.array(
    z.object({ paths: z.array(z.string().min(1)), weights: z.array(WeightSpecSchema) }),
  ),
});
export type TfjsCheckpoint = z.infer<typeof TfjsCheckpointSchema>;

export const FitStateSchema = z.object({
  /** Last finished epoch (0 before training). */
  epoch: z.number().int().nonnegative(),
  history: z.array(
    EpochMetricsSchema.extend({
      learningRate: z.number(),
      imagesPerSec: z.number(),
      seconds: z.number().nonnegative(),
    }),
  ),
  bestEpoch: z.number().int().nonnegative(),
  /** JSON has no Infinity: a run with no best epoch yet stores null. */
  bestValLoss: z
    .number()
    .nullable()
    .transform((v) => v ?? Number.POSITIVE_INFINITY),
});

export const RunStateSchema = z.looseObject({
  /** The run's TrainOptions without logger and callbacks; the trainer checks them itself. */
  options: z.looseObject({
    dataDir: z.string().min(1),
    outDir: z.string().min(1),
    epochs: z.number().int().positive(),
  }),
  state: FitStateSchema,
  /** Weight specs of resume/optimizer.bin (Adam's iteration count and moments), in order. */
  optimizer: z.array(WeightSpecSchema).optional(),
});
export type RunState = z.infer<typeof RunStateSchema>;
