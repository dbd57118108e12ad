/**
 * Bytes moved straight between the device and object storage, at URLs the control plane presigned
 * (a model file's GET, a sample's PUT). A presigned URL is a bearer credential until it expires:
 * errors and logs name its origin and path, never its query (the signature). Only http(s) URLs are
 * followed, with the agent's object-storage trust: `tls.objectStorageCaFile` when set, else the
 * system's CAs. The control plane's pinned CA and the device's client certificate are for the
 * control plane only; a bucket is often on a public CA and has no use for the device's identity.
 */
import {
  type AgentConfig,
  ConfigError,
  NetworkError,
  readTextIfExists,
  type SampleUploadSlot,
  ValidationError,
} from '@edgeloop/shared';
import { createTlsFetch } from './tls-fetch.ts';
import { isLoopback } from './tls-trust.ts';

/** Object storage answered with an error status; 403 is also what an expired URL gets. */
export class ObjectStorageError extends NetworkError {
  constructor(
    readonly httpStatus: number,
    message: string,
  ) {
    super(message, undefined);
  }
}

/**
 * The URL, refused unless it is http(s) (a control plane cannot point the agent at file: or data:),
 * and plain http only to loopback unless `allowPlaintext` (the agent's `insecure`): a frame and a
 * bearer URL do not cross the network in the clear by default.
 */
export function presignedUrl(raw: string, options: { allowPlaintext?: boolean } = {}): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ValidationError('the control plane handed out an object-storage URL that does not parse');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ValidationError(`object-storage URLs must be http(s), got ${url.protocol}`);
  }
  if (url.protocol === 'http:' && !options.allowPlaintext && !isLoopback(url.hostname)) {
    throw new ValidationError(
      `object storage at ${url.origin} is plaintext; use https there, or set insecure: true on a network you trust`,
    );
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

/** The agent's object-storage access from its config (read once at start). */
export async function objectStorageAccess(
  config: Pick<AgentConfig, 'tls' | 'insecure'>,
): Promise<ObjectStorageAccess> {
  const file = config.tls.objectStorageCaFile;
  if (!file) return { allowPlaintext: config.insecure };
  const ca = await readTextIfExists(file);
  if (ca === null) throw new ConfigError(`tls.objectStorageCaFile ${file} does not exist`);
  return { fetch: createTlsFetch({ ca }), allowPlaintext: config.insecure };
}

/** How the agent reaches object storage: its own trust, and no client certificate. */
export interface ObjectStorageAccess {
  /** fetch with `tls.objectStorageCaFile`; the global one (system CAs, NODE_EXTRA_CA_CERTS) otherwise. */
  fetch?: typeof fetch;
  allowPlaintext?: boolean;
}

/** Starts a presigned GET; `offset` > 0 asks for the rest (HTTP Range, RFC 9110 §14.2). */
export function getPresigned(
  access: ObjectStorageAccess,
  location: string,
  options: { offset?: number; signal?: AbortSignal },
): Promise<Response> {
  const headers: Record<string, string> = {};
  if (options.offset) headers.range = `bytes=${options.offset}-`;
  const url = presignedUrl(location, access);
  return send(access.fetch ?? fetch, 'GET', url, { headers, signal: options.signal });
}

/** PUTs `bytes` to a presigned slot with exactly the headers the signature covers. */
export async function putPresigned(
  access: ObjectStorageAccess,
  slot: Extract<SampleUploadSlot, { transfer: 'presigned' }>,
  bytes: Uint8Array,
  signal?: AbortSignal,
): Promise<void> {
  const url = presignedUrl(slot.url, access);
  const res = await send(access.fetch ?? fetch, 'PUT', url, { headers: slot.headers, body: bytes, signal });
  await res.body?.cancel();
}
