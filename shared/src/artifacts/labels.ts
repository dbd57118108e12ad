/**
 * labels.json: the class names of a model in output order (index i names output i). Written by
 * `train` and `import-model`; read by publish, `--init-from`, evaluate and predict.
 */
import { z } from 'zod';
import { ClassNameSchema } from '../schemas/class-name.ts';

export const LabelsSchema = z
  .array(ClassNameSchema)
  .min(2, 'expected at least two classes')
  .refine((labels) => new Set(labels).size === labels.length, 'expected each class name once');
export type Labels = z.infer<typeof LabelsSchema>;
