/**
 * Single byte ranges (RFC 9110 §14): `bytes=a-` and `bytes=a-b`. Anything else — several ranges,
 * suffix ranges, junk — is ignored and the whole body is sent, which §14.2 permits.
 */
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

/** Builds the response for `bytes` honouring a Range header. */
export function rangedResponse(
  bytes: Uint8Array,
  rangeHeader: string | undefined,
  headers: Record<string, string>,
): Response {
  const size = bytes.byteLength;
  const common = { ...headers, 'Accept-Ranges': 'bytes' };
  const range = parseRange(rangeHeader, size);
  if (range.kind === 'unsatisfiable') {
    return new Response(null, { status: 416, headers: { ...common, 'Content-Range': `bytes */${size}` } });
  }
  if (range.kind === 'partial') {
    const body = bytes.subarray(range.start, range.end + 1);
    return new Response(body, {
      status: 206,
      headers: {
        ...common,
        'Content-Length': String(body.byteLength),
        'Content-Range': `bytes ${range.start}-${range.end}/${size}`,
      },
    });
  }
  return new Response(bytes, { status: 200, headers: { ...common, 'Content-Length': String(size) } });
}
