/**
 * Authentication middleware. Admins send `Authorization: Bearer <adminToken>`; devices use HTTP
 * Basic with deviceId:secret (RFC 7617). The caller becomes `c.get('principal')`.
 */
import { UnauthorizedError } from '@edgeloop/shared';
import type { Context, MiddlewareHandler } from 'hono';
import { safeEqual } from '../auth/secrets.ts';
import type { AppDeps, AppEnv, Principal } from './env.ts';

type Role = Principal['kind'];

function parseBasic(value: string): { user: string; pass: string } | null {
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return null;
  return { user: decoded.slice(0, colon), pass: decoded.slice(colon + 1) };
}

async function identify(
  header: string | undefined,
  roles: readonly Role[],
  deps: AppDeps,
): Promise<Principal> {
  const [scheme, value] = header?.split(' ', 2) ?? [];
  if (value && roles.includes('admin') && scheme?.toLowerCase() === 'bearer') {
    if (safeEqual(value, deps.adminToken)) return { kind: 'admin' };
  }
  if (value && roles.includes('device') && scheme?.toLowerCase() === 'basic') {
    const creds = parseBasic(value);
    if (creds && (await deps.devices.verify(creds.user, creds.pass))) {
      return { kind: 'device', deviceId: creds.user };
    }
  }
  throw new UnauthorizedError();
}

export function requireRole(deps: AppDeps, ...roles: Role[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set('principal', await identify(c.req.header('authorization'), roles, deps));
    await next();
  };
}

/** The authenticated device's id; the device is never taken from a request body. */
export function deviceIdOf(c: Context<AppEnv>): string {
  const principal = c.get('principal');
  if (principal?.kind !== 'device') throw new UnauthorizedError('device credentials required');
  return principal.deviceId;
}
