/**
 * Single byte ranges (RFC 9110 §14): `bytes=a-` and `bytes=a-b`. Anything else — several ranges,
 * suffix ranges, junk — is ignored and the whole body is sent, which §14.2 permits.
 */
import type { ObjectStore } from '../object-store/object-store.ts';

export type RangeResult =
  | { kind: 'full' }
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'unsatisfiable' };

export function parseRange(header: string | undefined, size: number): RangeResult {
  if (!header) return { kind: 'full' };
  const match = /^bytes=(\d+)-(\d*)$/.exec(header.trim());
  if (!match) return { kind: 'full' };
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (!Number.isSafeInteger(start) || (match[2] !== '' && Number(match[2]) < start)) return { kind: 'full' };
  // §14.1.1: a first position at or past the end cannot be satisfied.
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end };
}

/**
 * Streams an object honouring a Range header: only the size is asked first, then just the bytes
 * to send are read, as they are sent (a large model file never sits in memory whole).
 */
export async function rangedObjectResponse(
  objects: ObjectStore,
  key: string,
  rangeHeader: string | undefined,
  headers: Record<string, string>,
): Promise<Response> {
  const size = await objects.size(key);
  const common = { ...headers, 'Accept-Ranges': 'bytes' };
  const range = parseRange(rangeHeader, size);
  if (range.kind === 'unsatisfiable') {
    return new Response(null, { status: 416, headers: { ...common, 'Content-Range': `bytes */${size}` } });
  }
  if (range.kind === 'partial') {
    return new Response(await objects.stream(key, range), {
      status: 206,
      headers: {
        ...common,
        'Content-Length': String(range.end - range.start + 1),
        'Content-Range': `bytes ${range.start}-${range.end}/${size}`,
      },
    });
  }
  // An empty object has no byte 0 to stream from.
  const body = size === 0 ? null : await objects.stream(key);
  return new Response(body, { status: 200, headers: { ...common, 'Content-Length': String(size) } });
}
