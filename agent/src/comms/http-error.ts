/**
 * Errors of the agent's HTTP calls. The control plane answers errors as {error:{code,message}}; the
 * code is kept when it is one of ours so callers branch on it, and `httpStatus` tells the retry
 * policy what happened on the wire.
 */
import { EdgeloopError, ErrorBodySchema, type ErrorCode, ErrorCodes } from '@edgeloop/shared';

export class ControlPlaneHttpError extends EdgeloopError {
  constructor(
    readonly httpStatus: number,
    code: ErrorCode,
    message: string,
    details?: unknown,
  ) {
    super(code, message, { details });
  }
}

/** The control plane could not be reached at all (DNS, refused, reset, timeout). */
export class NetworkError extends EdgeloopError {
  constructor(message: string, cause: unknown) {
    super('UPSTREAM_FAILED', message, { cause });
  }
}

function codeForStatus(status: number): ErrorCode {
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'FORBIDDEN';
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return 'CONFLICT';
  if (status === 413) return 'PAYLOAD_TOO_LARGE';
  if (status === 415) return 'UNSUPPORTED_MEDIA';
  if (status >= 400 && status < 500) return 'VALIDATION_FAILED';
  return 'UPSTREAM_FAILED';
}

export async function httpErrorFrom(res: Response, what: string): Promise<ControlPlaneHttpError> {
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
    // Not our error body (a proxy's HTML page, say): keep the status-derived code and raw text.
  }
  return new ControlPlaneHttpError(
    res.status,
    code,
    `${what} failed (HTTP ${res.status}): ${message}`,
    details,
  );
}

/** Worth retrying later: the network, the server's own trouble, throttling. */
export function isTransient(err: unknown): boolean {
  if (err instanceof NetworkError) return true;
  if (err instanceof ControlPlaneHttpError) {
    return err.httpStatus >= 500 || err.httpStatus === 408 || err.httpStatus === 429;
  }
  return false;
}
