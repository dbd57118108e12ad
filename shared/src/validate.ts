import type { z } from 'zod';
import { ValidationError } from './errors.ts';

/** One line per problem, naming the path: `labels.0: expected string`. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}

/** Validates `data` at a boundary; throws ValidationError naming `what` and each bad field. */
export function parseWith<S extends z.ZodType>(schema: S, data: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(data);
  if (!result.success) {
    throw new ValidationError(`invalid ${what}: ${describeIssues(result.error.issues)}`, result.error.issues);
  }
  return result.data;
}

/** Parses a JSON text (e.g. an MQTT payload) and validates it. */
export function parseJsonWith<S extends z.ZodType>(
  schema: S,
  text: string | Uint8Array,
  what: string,
): z.infer<S> {
  let data: unknown;
  try {
    data = JSON.parse(typeof text === 'string' ? text : new TextDecoder().decode(text));
  } catch {
    throw new ValidationError(`invalid ${what}: not JSON`);
  }
  return parseWith(schema, data, what);
}
