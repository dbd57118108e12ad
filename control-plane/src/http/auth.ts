/**
 * Authentication middleware. Admins send `Authorization: Bearer <adminToken>`; devices use HTTP
 * Basic with deviceId:secret (RFC 7617), or under TLS the client certificate the control plane's
 * CA issued them (mTLS, no Authorization header); dashboard users carry a session cookie. The caller
 * becomes `c.get('principal')`. Which of them a route admits is its `access` in the contract.
 */
import { ForbiddenError, mayCall, type RouteDef, UnauthorizedError } from '@edgeloop/shared';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { safeEqual } from '../auth/secrets.ts';
import { SESSION_COOKIE } from '../auth/sessions.ts';
import { peerDevice } from '../tls/peer-certificate.ts';
import type { AppDeps, AppEnv, Principal } from './env.ts';
import { clientAddress } from './server.ts';

type Role = 'admin' | 'device';

/** Sent by the dashboard's own scripts; a cross-site form cannot set it (CSRF guard). */
export const DASHBOARD_HEADER = 'x-edgeloop-dashboard';

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
  address: string,
): Promise<Principal> {
  const [scheme, value] = header?.split(' ', 2) ?? [];
  if (value && roles.includes('admin') && scheme?.toLowerCase() === 'bearer') {
    if (safeEqual(value, deps.adminToken)) return { kind: 'admin' };
  }
  if (value && roles.includes('device') && scheme?.toLowerCase() === 'basic') {
    const creds = parseBasic(value);
    if (creds && (await deps.devices.verify(creds.user, creds.pass, address))) {
      return { kind: 'device', deviceId: creds.user };
    }
  }
  throw new UnauthorizedError();
}

/** The signed-in dashboard user, if the request carries a valid session cookie. */
export async function sessionOf(c: Context, deps: AppDeps): Promise<Principal | null> {
  const cookie = getCookie(c, SESSION_COOKIE);
  const session = cookie && deps.sessions ? await deps.sessions.decode(cookie) : null;
  return session ? { kind: 'user', name: session.name, role: session.role } : null;
}

const READS = new Set(['GET', 'HEAD']);

/**
 * Lets a request through when its caller may call `route` (route.access, shared/src/api/route.ts):
 * a dashboard session whose role is high enough (changes also need the CSRF header), the admin
 * token where any person may call, a device's own credentials where devices may.
 */
export function authorize(deps: AppDeps, route: RouteDef): MiddlewareHandler<AppEnv> {
  const people = route.access.some((a) => a !== 'device');
  const roles: Role[] = [
    ...(people ? (['admin'] as const) : []),
    ...(route.access.includes('device') ? (['device'] as const) : []),
  ];
  return async (c, next) => {
    if (route.access.length === 0) return next();
    const header = c.req.header('authorization');
    const certified =
      header === undefined && roles.includes('device') ? await certifiedDevice(c, deps) : null;
    if (certified) {
      c.set('principal', certified);
      return next();
    }
    const user = header === undefined && people ? await sessionOf(c, deps) : null;
    if (user?.kind === 'user') {
      if (!mayCall(route, user.role)) {
        throw new ForbiddenError(
          user.role === 'viewer'
            ? `${user.name} is a viewer: read only`
            : `${user.name} is ${user.role === 'operator' ? 'an operator' : `a ${user.role}`}: ${route.id} needs more`,
        );
      }
      if (!READS.has(c.req.method) && c.req.header(DASHBOARD_HEADER) !== '1') {
        throw new ForbiddenError(`cookie-authenticated changes need the ${DASHBOARD_HEADER} header`);
      }
      c.set('principal', user);
    } else {
      c.set('principal', await identify(header, roles, deps, clientAddress(c)));
    }
    await next();
  };
}

/** A device proven by its client certificate (the one on record, not revoked), or null. */
async function certifiedDevice(c: Context, deps: AppDeps): Promise<Principal | null> {
  const incoming = (c.env as { incoming?: { socket?: unknown } } | undefined)?.incoming;
  const peer = peerDevice(incoming?.socket);
  if (!peer || !(await deps.devices.verifyCertificate(peer.deviceId, peer.fingerprint))) return null;
  return { kind: 'device', deviceId: peer.deviceId };
}

/** The authenticated device's id; the device is never taken from a request body. */
export function deviceIdOf(c: Context<AppEnv>): string {
  const principal = c.get('principal');
  if (principal?.kind !== 'device') throw new UnauthorizedError('device credentials required');
  return principal.deviceId;
}
