/**
 * The metadata_props keys every edgeloop model carries (docs/model-format.md): pre- and
 * post-processing parameters live in the model, not in code, so any program holding only the .onnx
 * file knows how to feed it and name its outputs.
 */
import { EdgeloopError, type InputSpec, InputSpecSchema } from '@edgeloop/shared';

export const METADATA_KEYS = {
  /** JSON array of class names in output order. */
  labels: 'labels',
  /** JSON InputSpec (shared/src/schemas/manifest.ts). */
  inputSpec: 'input_spec',
  /** The model-format contract version. */
  formatVersion: 'format_version',
  /** JSON description of the quantization applied, absent on float models. */
  quantization: 'quantization',
} as const;

export function labelsFromMetadata(metadata: Record<string, string>): string[] | null {
  const raw = metadata[METADATA_KEYS.labels];
  if (!raw) return null;
  try {
    const labels = JSON.parse(raw) as unknown;
    if (Array.isArray(labels) && labels.every((l) => typeof l === 'string')) return labels;
  } catch {
    // fall through to the error below
  }
  throw new EdgeloopError(
    'MODEL_INVALID',
    `metadata 'labels' is not a JSON array of strings: ${raw.slice(0, 80)}`,
  );
}

export function inputSpecFromMetadata(metadata: Record<string, string>): InputSpec | null {
  const raw = metadata[METADATA_KEYS.inputSpec];
  if (!raw) return null;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    throw new EdgeloopError('MODEL_INVALID', `metadata 'input_spec' is not JSON: ${(err as Error).message}`);
  }
  const parsed = InputSpecSchema.safeParse(json);
  if (!parsed.success) {
    throw new EdgeloopError(
      'MODEL_INVALID',
      `metadata 'input_spec' is not a valid input spec: ${parsed.error.message}`,
    );
  }
  return parsed.data;
}
