/**
 * Named errors with stable codes. Every error that crosses a process boundary (HTTP response, CLI
 * exit, MQTT event) is an EdgeloopError, so callers branch on `code`, never on message text.
 */
export const ErrorCodes = {
  VALIDATION_FAILED: 400,
  CONFIG_INVALID: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  /** A sample commit for which nothing was uploaded to its presigned URL (upload, then commit). */
  UPLOAD_MISSING: 409,
  /** The uploaded object is not what the commit declares (length, sha256); it was deleted. */
  UPLOAD_MISMATCH: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA: 415,
  /** Too many attempts from one address or for one identity, or too much work queued (Retry-After). */
  RATE_LIMITED: 429,
  MANIFEST_UNSIGNED: 422,
  MANIFEST_SIGNATURE_INVALID: 422,
  MANIFEST_UNTRUSTED_KEY: 422,
  MANIFEST_EXPIRED: 422,
  MANIFEST_DOWNGRADE: 422,
  /** A desired state not signed by a trusted key, or for another device. */
  DESIRED_STATE_UNTRUSTED: 422,
  /** A desired state older (lower sequence) than one already accepted: a replay. */
  DESIRED_STATE_REPLAYED: 422,
  /** A desired state issued further in the future than the clock-skew allowance. */
  DESIRED_STATE_FROM_FUTURE: 422,
  CHECKSUM_MISMATCH: 422,
  DATASET_INVALID: 422,
  MODEL_INVALID: 422,
  UPSTREAM_FAILED: 502,
  /** None of the configured onnxruntime execution providers loads (agent start-up). */
  EXECUTION_PROVIDER_UNAVAILABLE: 503,
  /** A camera or its capture process is missing, failing or stalled (the agent keeps retrying). */
  CAMERA_UNAVAILABLE: 503,
  /** The control plane's database is unreachable (restarting, failing over): try again shortly. */
  STORE_UNAVAILABLE: 503,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class EdgeloopError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: unknown;

  constructor(code: ErrorCode, message: string, options?: { details?: unknown; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = ErrorCodes[code];
    this.details = options?.details;
  }

  toJSON(): { error: { code: ErrorCode; message: string; details?: unknown } } {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}

export class ValidationError extends EdgeloopError {
  constructor(message: string, details?: unknown) {
    super('VALIDATION_FAILED', message, { details });
  }
}

export class ConfigError extends EdgeloopError {
  constructor(message: string, details?: unknown) {
    super('CONFIG_INVALID', message, { details });
  }
}

export class UnauthorizedError extends EdgeloopError {
  constructor(message = 'missing or invalid credentials') {
    super('UNAUTHORIZED', message);
  }
}

export class ForbiddenError extends EdgeloopError {
  constructor(message = 'not allowed') {
    super('FORBIDDEN', message);
  }
}

export class NotFoundError extends EdgeloopError {
  constructor(message: string) {
    super('NOT_FOUND', message);
  }
}

export class ConflictError extends EdgeloopError {
  constructor(message: string) {
    super('CONFLICT', message);
  }
}

/** Refused for now: try again after `retryAfterSeconds` (sent as Retry-After, RFC 9110 §10.2.3). */
export class RateLimitedError extends EdgeloopError {
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds: number) {
    super('RATE_LIMITED', message);
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds));
  }
}

export class ManifestError extends EdgeloopError {}

export class ChecksumError extends EdgeloopError {
  constructor(message: string) {
    super('CHECKSUM_MISMATCH', message);
  }
}

/** Turns anything thrown into an EdgeloopError without losing the original as `cause`. */
export function toEdgeloopError(err: unknown): EdgeloopError {
  if (err instanceof EdgeloopError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new EdgeloopError('INTERNAL', message, { cause: err });
}
