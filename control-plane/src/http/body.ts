/** Reading request bodies at the boundary: JSON and multipart, validated with shared schemas. */
import { EdgeloopError, parseWith, ValidationError } from '@edgeloop/shared';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { z } from 'zod';

export async function readJson<S extends z.ZodType>(
  c: Context,
  schema: S,
  what: string,
): Promise<z.infer<S>> {
  let data: unknown;
  try {
    data = await c.req.json();
  } catch {
    throw new ValidationError(`invalid ${what}: body is not JSON`);
  }
  return parseWith(schema, data, what);
}

export async function readForm(c: Context): Promise<FormData> {
  const type = c.req.header('content-type') ?? '';
  if (!type.toLowerCase().startsWith('multipart/form-data')) {
    throw new ValidationError('expected a multipart/form-data body');
  }
  try {
    return await c.req.raw.formData();
  } catch (err) {
    if (err instanceof EdgeloopError) throw err;
    throw new ValidationError(`malformed multipart body: ${(err as Error).message}`);
  }
}

/** Refuses bodies over `maxBytes` before they are buffered (Content-Length or while streaming). */
export function limitBody(maxBytes: number, what: string): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new EdgeloopError('PAYLOAD_TOO_LARGE', `${what} exceeds ${maxBytes} bytes`);
    },
  });
}
