/**
 * The one rule for a class name, wherever one enters: prediction payloads (MQTT), sample uploads,
 * label actions, classes added by hand, dataset images and imports, labels.json, manifests and the
 * trainer's class folders. A class name becomes a folder name when the pipeline exports a dataset
 * (`<dir>/<split>/<label>/`), so the rule keeps every name a single, harmless path segment:
 *
 * - 1 to 64 characters (UTF-16 code units), in Unicode normal form C (so `café` is one class, not two);
 * - Unicode letters (with their combining marks) and digits, space, and `- _ . , ' ( )`;
 * - the first character a letter or digit (no `.`, `..` or hidden names), the last not a space or
 *   `.` (Windows drops those, merging two classes);
 * - so never `/`, `\`, NUL, control or format characters (no bidi tricks in the labelling UI).
 *
 * docs/security.md (Path traversal) states the same rule.
 */
import { z } from 'zod';

export const CLASS_NAME_MAX_LENGTH = 64;
const CLASS_NAME = /^[\p{L}\p{N}](?:[\p{L}\p{M}\p{N} _.,'()-]*[\p{L}\p{M}\p{N}_,'()-])?$/u;
export const CLASS_NAME_RULE =
  "1-64 characters: letters, digits, space and - _ . , ' ( ); starting with a letter or digit, not ending in space or '.'";

/** Whether `name` is a class name by the rule above. */
export function isClassName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= CLASS_NAME_MAX_LENGTH &&
    CLASS_NAME.test(name) &&
    name.normalize('NFC') === name
  );
}

export const ClassNameSchema = z.string().refine(isClassName, { message: `expected ${CLASS_NAME_RULE}` });
