/**
 * Dashboard sign-in: a user name + password (config `users`) or the admin token becomes a session
 * carried in a signed, httpOnly, SameSite=Strict cookie. The cookie holds who and until when,
 * HMAC-SHA256 signed with a key derived from the admin token, so sessions survive restarts and end
 * when the admin token is rotated.
 */
import { createHash, createHmac } from 'node:crypto';
import { type DashboardUser, type UserRole, UserRoleSchema } from '@edgeloop/shared';
import { safeEqual, verifySecret } from './secrets.ts';

export const SESSION_COOKIE = 'edgeloop_session';

export interface Session {
  name: string;
  role: UserRole;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export interface Sessions {
  /** The session for these credentials, or null when they match nobody. */
  signIn(name: string, password: string): Promise<Session | null>;
  encode(session: Session): string;
  /** Null for a forged, malformed or expired cookie, or a user no longer configured. */
  decode(cookie: string): Session | null;
}

export function createSessions(options: {
  users: readonly DashboardUser[];
  adminToken: string;
  sessionHours: number;
  now?: () => number;
}): Sessions {
  const now = options.now ?? Date.now;
  const key = createHash('sha256').update(`edgeloop-session:${options.adminToken}`).digest();
  const sign = (body: string) => createHmac('sha256', key).update(body).digest('base64url');
  const lifetime = options.sessionHours * 3600_000;
  const current = (name: string): UserRole | null => {
    if (name === 'admin' && !options.users.some((u) => u.name === 'admin')) return 'admin';
    return options.users.find((u) => u.name === name)?.role ?? null;
  };

  return {
    async signIn(name, password) {
      const user = options.users.find((u) => u.name === name);
      if (user) {
        return (await verifySecret(password, user.passwordHash))
          ? { name, role: user.role, expiresAt: now() + lifetime }
          : null;
      }
      // With no user of that name, "admin" + the admin token signs in as admin.
      if (name === 'admin' && safeEqual(password, options.adminToken)) {
        return { name, role: 'admin', expiresAt: now() + lifetime };
      }
      return null;
    },
    encode(session) {
      const body = Buffer.from(JSON.stringify([session.name, session.role, session.expiresAt])).toString(
        'base64url',
      );
      return `${body}.${sign(body)}`;
    },
    decode(cookie) {
      const [body, mac] = cookie.split('.');
      if (!body || !mac || !safeEqual(mac, sign(body))) return null;
      let parsed: unknown;
      try {
        parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
      } catch {
        return null;
      }
      if (!Array.isArray(parsed) || parsed.length !== 3) return null;
      const [name, role, expiresAt] = parsed as [unknown, unknown, unknown];
      const roleParsed = UserRoleSchema.safeParse(role);
      if (typeof name !== 'string' || !roleParsed.success || typeof expiresAt !== 'number') return null;
      if (expiresAt <= now()) return null;
      // A role taken away in config ends the session at once, a lowered one applies at once.
      const role_ = current(name);
      if (role_ === null) return null;
      return { name, role: role_, expiresAt };
    },
  };
}
