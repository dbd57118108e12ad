/**
 * A model folder: what `edgeloop train` and `import-model` write and what publish, the registry,
 * the pipeline, `--init-from` and `--resume` read.
 *
 *   manifest.json    required: UnsignedManifestSchema; every file it lists must be in the folder
 *   model.onnx       required (listed in the manifest, role 'model'): what devices run
 *   labels.json      optional: LabelsSchema, equal to the manifest's labels
 *   metrics.json     optional (imported models have none): ModelMetricsSchema
 *   model.fp32.onnx  after the int8 step (role 'reference-model'; a device file: agents time both)
 *   curves.svg, confusion.svg   charts, read by people only
 *   checkpoint/      tfjs weights of the best epoch (for --init-from): TfjsCheckpointSchema
 *   resume/          the last epoch's weights and state.json (for --resume): RunStateSchema
 */
import { z } from 'zod';
import { EdgeloopError } from '../errors.ts';
import { UnsignedManifestSchema } from '../schemas/manifest.ts';
import { LabelsSchema } from './labels.ts';
import { ModelMetricsSchema } from './metrics.ts';
import type { ArtifactErrorCode } from './parse-artifact.ts';

export const MODEL_FOLDER = {
  manifest: 'manifest.json',
  model: 'model.onnx',
  fp32Model: 'model.fp32.onnx',
  labels: 'labels.json',
  metrics: 'metrics.json',
  curves: 'curves.svg',
  confusion: 'confusion.svg',
  checkpointDir: 'checkpoint',
  resumeDir: 'resume',
} as const;

export const REQUIRED_MODEL_FILES: readonly string[] = [MODEL_FOLDER.manifest, MODEL_FOLDER.model];
export const OPTIONAL_MODEL_FILES: readonly string[] = [
  MODEL_FOLDER.labels,
  MODEL_FOLDER.metrics,
  MODEL_FOLDER.fp32Model,
  MODEL_FOLDER.curves,
  MODEL_FOLDER.confusion,
];

const sameLabels = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((l, i) => l === b[i]);

/**
 * The JSON files of a model folder, keyed by file name (absent optional files undefined), checked
 * each on its own and against each other: labels.json and metrics.json's labels must be the
 * manifest's labels, in the same order, and the manifest must list exactly one model file.
 */
export const ModelFolderSchema = z
  .object({
    [MODEL_FOLDER.manifest]: UnsignedManifestSchema,
    [MODEL_FOLDER.labels]: LabelsSchema.optional(),
    [MODEL_FOLDER.metrics]: ModelMetricsSchema.optional(),
  })
  .superRefine((folder, ctx) => {
    const manifest = folder[MODEL_FOLDER.manifest];
    const names = manifest.files.map((f) => f.name);
    if (new Set(names).size !== names.length) {
      ctx.addIssue({
        code: 'custom',
        path: [MODEL_FOLDER.manifest, 'files'],
        message: 'a file is listed twice',
      });
    }
    if (manifest.files.filter((f) => f.role === 'model').length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: [MODEL_FOLDER.manifest, 'files'],
        message: "expected exactly one file with role 'model'",
      });
    }
    const labels = folder[MODEL_FOLDER.labels];
    if (labels && !sameLabels(labels, manifest.labels)) {
      ctx.addIssue({
        code: 'custom',
        path: [MODEL_FOLDER.labels],
        message: `expected the manifest's labels [${manifest.labels.join(', ')}], found [${labels.join(', ')}]`,
      });
    }
    const metricsLabels = folder[MODEL_FOLDER.metrics]?.labels;
    if (metricsLabels && !sameLabels(metricsLabels, manifest.labels)) {
      ctx.addIssue({
        code: 'custom',
        path: [MODEL_FOLDER.metrics, 'labels'],
        message: `expected the manifest's labels [${manifest.labels.join(', ')}], found [${metricsLabels.join(', ')}]`,
      });
    }
  });
export type ModelFolder = z.infer<typeof ModelFolderSchema>;

/**
 * Validates a model folder's JSON files (see ModelFolderSchema); `where` (the folder, or the upload)
 * prefixes the message, and each problem names its file and field:
 * `runs/7: metrics.json: quantization.int8Accuracy: expected number, received string`.
 */
export function parseModelFolder(
  files: Record<string, unknown>,
  where: string,
  code: ArtifactErrorCode = 'MODEL_INVALID',
): ModelFolder {
  const result = ModelFolderSchema.safeParse(files);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const [file, ...field] = issue.path.map(String);
    const message = issue.message.replace(/^Invalid input: /, '');
    if (file === undefined) return message;
    return field.length > 0 ? `${file}: ${field.join('.')}: ${message}` : `${file}: ${message}`;
  });
  throw new EdgeloopError(code, `${where}: ${problems.join('; ')}`, { details: result.error.issues });
}
