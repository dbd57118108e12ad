/**
 * Validation of files that cross processes inside a model folder (metrics.json, labels.json,
 * manifest.json, the resume state, checkpoints). One message shape everywhere, naming the file and
 * each bad field: `metrics.json: quantization.int8Accuracy: expected number, received string`.
 */
import type { z } from 'zod';
import { EdgeloopError } from '../errors.ts';

/** MODEL_INVALID for model folders and uploads; VALIDATION_FAILED where the caller's input is at fault. */
export type ArtifactErrorCode = 'MODEL_INVALID' | 'VALIDATION_FAILED';

export function describeArtifactIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      const path = issue.path.length > 0 ? issue.path.join('.') : '(root)';
      return `${path}: ${issue.message.replace(/^Invalid input: /, '')}`;
    })
    .join('; ');
}

/** Validates a parsed artifact; throws a named error whose message starts with `file`. */
export function parseArtifact<S extends z.ZodType>(
  schema: S,
  data: unknown,
  file: string,
  code: ArtifactErrorCode = 'MODEL_INVALID',
): z.infer<S> {
  const result = schema.safeParse(data);
  if (!result.success) {
    throw new EdgeloopError(code, `${file}: ${describeArtifactIssues(result.error.issues)}`, {
      details: result.error.issues,
    });
  }
  return result.data;
}

/** Parses an artifact's JSON text and validates it (see parseArtifact). */
export function parseArtifactJson<S extends z.ZodType>(
  schema: S,
  text: string | Uint8Array,
  file: string,
  code: ArtifactErrorCode = 'MODEL_INVALID',
): z.infer<S> {
  let data: unknown;
  try {
    data = JSON.parse(typeof text === 'string' ? text : new TextDecoder().decode(text));
  } catch (err) {
    throw new EdgeloopError(code, `${file}: not JSON (${(err as Error).message})`);
  }
  return parseArtifact(schema, data, file, code);
}
