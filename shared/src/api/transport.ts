/**
 * The one HTTP transport every client uses: builds the request from a route definition, sends it
 * with fetch, turns error bodies into EdgeloopErrors with the server's code (or one derived from
 * the status), and parses JSON answers with the route's own response schema.
 */
import { EdgeloopError, type ErrorCode, ErrorCodes } from '../errors.ts';
import { ErrorBodySchema } from '../schemas/http.ts';
import { parseWith } from '../validate.ts';
import { type RouteDef, routeUrl, successSpec } from './route.ts';
import type { CallInput, ResultOf } from './types.ts';

/** The control plane answered with an error status. */
export class ApiHttpError extends EdgeloopError {
  constructor(
    readonly httpStatus: number,
    code: ErrorCode,
    message: string,
    details?: unknown,
  ) {
    super(code, message, { details });
  }
}

/** The control plane could not be reached at all (DNS, refused, reset, timeout) or answered garbage. */
export class NetworkError extends EdgeloopError {
  constructor(message: string, cause: unknown) {
    super('UPSTREAM_FAILED', message, { cause });
  }
}

/** Worth retrying later: the network, the server's own trouble, throttling. */
export function isTransient(err: unknown): boolean {
  if (err instanceof NetworkError) return true;
  if (err instanceof ApiHttpError) {
    return err.httpStatus >= 500 || err.httpStatus === 408 || err.httpStatus === 429;
  }
  return false;
}

/** When the body is not our error body (a proxy's page, say), the status still says what happened. */
export function codeForStatus(status: number): ErrorCode {
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'FORBIDDEN';
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return 'CONFLICT';
  if (status === 413) return 'PAYLOAD_TOO_LARGE';
  if (status === 415) return 'UNSUPPORTED_MEDIA';
  if (status === 429) return 'RATE_LIMITED';
  if (status >= 400 && status < 500) return 'VALIDATION_FAILED';
  return 'UPSTREAM_FAILED';
}

async function errorFrom(res: Response, what: string): Promise<ApiHttpError> {
  const text = await res.text().catch(() => '');
  let code = codeForStatus(res.status);
  let message = text.slice(0, 200);
  let details: unknown;
  try {
    const body = ErrorBodySchema.parse(JSON.parse(text));
    if (body.error.code in ErrorCodes) code = body.error.code as ErrorCode;
    message = body.error.message;
    details = body.error.details;
  } catch {
    // Not our error body: keep the status-derived code and the raw text.
  }
  return new ApiHttpError(res.status, code, `${what} failed (HTTP ${res.status}): ${message}`, details);
}

export interface TransportOptions {
  baseUrl: string;
  /** Sent with every call (authorization, actor); a function is asked per call. */
  headers?: Record<string, string> | (() => Record<string, string>);
  /** Default timeout of one call (ms); null for none. */
  timeoutMs?: number | null;
  /** Replaces the global fetch (the agent's, with its pinned CA and client certificate). */
  fetch?: typeof fetch;
}

export interface Transport {
  readonly baseUrl: string;
  /**
   * Sends the call; resolves to the Response when its status is 2xx (or 3xx with `redirect:
   * 'manual'`), else throws ApiHttpError.
   */
  send<R extends RouteDef>(route: R, input: CallInput<R>): Promise<Response>;
  /** Sends the call and parses a JSON answer with the route's schema (raw Response for bytes). */
  call<R extends RouteDef>(route: R, input: CallInput<R>): Promise<ResultOf<R>>;
}

export function createTransport(options: TransportOptions): Transport {
  // Concatenated, not resolved: keeps a base path prefix, and a '//host' path cannot change hosts.
  const base = options.baseUrl.replace(/\/+$/, '');

  async function send<R extends RouteDef>(route: R, input: CallInput<R>): Promise<Response> {
    const path = routeUrl(
      route,
      (input.params ?? {}) as Record<string, string | number>,
      (input.query ?? {}) as Record<string, string | number | boolean | undefined>,
    );
    const what = `${route.method} ${path}`;
    const common = typeof options.headers === 'function' ? options.headers() : (options.headers ?? {});
    const headers: Record<string, string> = { ...common, ...input.headers };
    let body: string | FormData | undefined;
    const given: unknown = input.body;
    if (given instanceof FormData) body = given;
    else if (given !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(given);
    }
    const timeoutMs = input.timeoutMs === undefined ? (options.timeoutMs ?? null) : input.timeoutMs;
    const signals = [input.signal, timeoutMs === null ? undefined : AbortSignal.timeout(timeoutMs)].filter(
      (s): s is AbortSignal => s !== undefined,
    );
    let res: Response;
    try {
      res = await (options.fetch ?? fetch)(`${base}${path}`, {
        method: route.method,
        headers,
        body,
        redirect: input.redirect,
        signal: signals.length > 0 ? AbortSignal.any(signals) : undefined,
      });
    } catch (err) {
      if (input.signal?.aborted) throw err;
      // fetch() says only 'fetch failed'; the reason (ECONNREFUSED, timeout…) is in its cause.
      const reason = ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message;
      throw new NetworkError(`${what}: cannot reach the control plane at ${options.baseUrl}: ${reason}`, err);
    }
    const redirected = input.redirect === 'manual' && res.status >= 300 && res.status < 400;
    if (!res.ok && !redirected) throw await errorFrom(res, what);
    return res;
  }

  async function call<R extends RouteDef>(route: R, input: CallInput<R>): Promise<ResultOf<R>> {
    const res = await send(route, input);
    // An undocumented 2xx is read as the documented success (the server's tests keep them equal).
    const spec = route.responses[res.status] ?? successSpec(route).spec;
    if (spec?.type !== 'json') return res as ResultOf<R>;
    let data: unknown;
    try {
      data = await res.json();
    } catch (err) {
      throw new NetworkError(`${route.method} ${route.path}: response body is not JSON`, err);
    }
    return parseWith(spec.schema, data, `response of ${route.id}`) as ResultOf<R>;
  }

  return { baseUrl: options.baseUrl, send, call };
}
