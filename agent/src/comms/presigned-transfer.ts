/**
 * Bytes moved straight between the device and object storage, at URLs the control plane presigned
 * (a model file's GET, a sample's PUT). A presigned URL is a bearer credential until it expires:
 * errors and logs name its origin and path, never its query (the signature). Only http(s) URLs are
 * followed, and with the agent's own fetch, so its TLS settings (CA, client certificate) apply.
 */
import { NetworkError, type SampleUploadSlot, ValidationError } from '@edgeloop/shared';

/** Object storage answered with an error status; 403 is also what an expired URL gets. */
export class ObjectStorageError extends NetworkError {
  constructor(
    readonly httpStatus: number,
    message: string,
  ) {
    super(message, undefined);
  }
}

/** The URL, refused unless it is http(s): a control plane cannot point the agent at file: or data:. */
export function presignedUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ValidationError('the control plane handed out an object-storage URL that does not parse');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ValidationError(`object-storage URLs must be http(s), got ${url.protocol}`);
  }
  return url;
}

/** Safe to log: where the URL points, without its signature. */
export function describeUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

async function send(
  fetchFn: typeof fetch,
  method: 'GET' | 'PUT',
  url: URL,
  init: { headers: Record<string, string>; body?: Uint8Array; signal?: AbortSignal },
): Promise<Response> {
  const what = `${method} ${describeUrl(url)}`;
  let res: Response;
  try {
    res = await fetchFn(url.href, {
      method,
      headers: init.headers,
      body: init.body,
      signal: init.signal,
      // A presigned URL is the end of the line: no redirect may take the request elsewhere.
      redirect: 'error',
    });
  } catch (err) {
    if (init.signal?.aborted) throw err;
    const reason = ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message;
    throw new NetworkError(`${what}: cannot reach object storage: ${reason}`, err);
  }
  if (!res.ok) {
    // S3's XML error names the reason (AccessDenied "Request has expired", SignatureDoesNotMatch).
    const text = (await res.text().catch(() => '')).slice(0, 300);
    const code = /<Code>([^<]{1,64})<\/Code>/.exec(text)?.[1] ?? 'unknown';
    throw new ObjectStorageError(res.status, `${what}: object storage answered ${res.status} (${code})`);
  }
  return res;
}

/** Starts a presigned GET; `offset` > 0 asks for the rest (HTTP Range, RFC 9110 §14.2). */
export function getPresigned(
  fetchFn: typeof fetch,
  location: string,
  options: { offset?: number; signal?: AbortSignal },
): Promise<Response> {
  const headers: Record<string, string> = {};
  if (options.offset) headers.range = `bytes=${options.offset}-`;
  return send(fetchFn, 'GET', presignedUrl(location), { headers, signal: options.signal });
}

/** PUTs `bytes` to a presigned slot with exactly the headers the signature covers. */
export async function putPresigned(
  fetchFn: typeof fetch,
  slot: Extract<SampleUploadSlot, { transfer: 'presigned' }>,
  bytes: Uint8Array,
  signal?: AbortSignal,
): Promise<void> {
  const res = await send(fetchFn, 'PUT', presignedUrl(slot.url), {
    headers: slot.headers,
    body: bytes,
    signal,
  });
  await res.body?.cancel();
}
