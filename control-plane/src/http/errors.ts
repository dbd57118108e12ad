/**
 * The HTTP loop boundary: every error becomes `{error:{code,message,details}}`. EdgeloopErrors
 * keep their status; anything else is a 500, logged with the request it broke.
 */
import { EdgeloopError, type Logger, NotFoundError, RateLimitedError, redactText } from '@edgeloop/shared';
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppEnv } from './env.ts';

/** Refusals that come before the body is read (who, how big, how often). */
const REFUSED_UNREAD = new Set([401, 403, 413, 429]);

function respond(c: Context, err: EdgeloopError): Response {
  const headers: Record<string, string> = {};
  if (err.code === 'UNAUTHORIZED') headers['WWW-Authenticate'] = 'Bearer, Basic realm="edgeloop"';
  // Node would otherwise read and discard the rest of a refused body to keep the connection
  // alive, however long the sender keeps streaming: end the connection instead.
  if (err instanceof RateLimitedError) headers['Retry-After'] = String(err.retryAfterSeconds);
  if (REFUSED_UNREAD.has(err.status) && c.req.raw.body !== null) headers.Connection = 'close';
  const body = err.toJSON();
  // A message may quote what the caller sent or a URL we fetched: never echo a password.
  body.error.message = redactText(body.error.message);
  return c.json(body, err.status as ContentfulStatusCode, headers);
}

export function errorHandler(logger: Logger): ErrorHandler<AppEnv> {
  return (err, c) => {
    const context = { method: c.req.method, path: c.req.path };
    if (err instanceof EdgeloopError) {
      if (err.status >= 500) logger.error({ ...context, err }, 'request failed');
      else logger.debug({ ...context, code: err.code, reason: err.message }, 'request refused');
      return respond(c, err);
    }
    if (err instanceof HTTPException && err.status < 500) {
      return respond(c, new EdgeloopError('VALIDATION_FAILED', err.message || 'bad request'));
    }
    logger.error({ ...context, err }, 'unexpected error');
    return respond(c, new EdgeloopError('INTERNAL', 'internal error'));
  };
}

export const notFoundHandler: NotFoundHandler<AppEnv> = (c) =>
  respond(c, new NotFoundError(`no route for ${c.req.method} ${c.req.path}`));
