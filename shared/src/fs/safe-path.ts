/**
 * The one way a file path is built from names that came from outside (class names, dataset names,
 * sample hashes): each name must be one plain path segment and the result must stay under `root`.
 * A name like `..`, `a/b`, `C:\x` or one holding NUL is refused with a named error instead of
 * writing somewhere else. Class names are also checked by their schema where they enter
 * (schemas/class-name.ts); this is the second wall, at the place a path is made.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { EdgeloopError } from '../errors.ts';

/** A path outside its root, or a name that is not one path segment. */
export class UnsafePathError extends EdgeloopError {
  constructor(message: string) {
    super('VALIDATION_FAILED', message);
    this.name = 'UnsafePathError';
  }
}

function checkSegment(segment: string): void {
  if (
    segment === '' ||
    segment === '.' ||
    segment === '..' ||
    segment.includes('/') ||
    segment.includes('\\') ||
    segment.includes('\0')
  ) {
    throw new UnsafePathError(`'${segment.replace(/\0/g, '\\0')}' is not a plain file or folder name`);
  }
}

/** `root/segments...`, refusing any segment that is not a plain name and any result outside `root`. */
export function safeJoin(root: string, ...segments: string[]): string {
  for (const segment of segments) checkSegment(segment);
  const base = resolve(root);
  const path = resolve(base, ...segments);
  const rel = relative(base, path);
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) {
    throw new UnsafePathError(`${segments.join('/')} leaves ${root}`);
  }
  return path;
}
