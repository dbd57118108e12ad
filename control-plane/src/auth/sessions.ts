/**
 * Dashboard sign-in: a user name + password (config `users`) or the admin token becomes a session
 * carried in a signed, httpOnly, SameSite=Strict cookie. The cookie holds who, until when and a
 * random session id, HMAC-SHA256 signed with a key derived from the admin token, so sessions
 * survive restarts and end when the admin token is rotated. Signing out records the id as revoked
 * (in the database, until the cookie would have expired anyway), so a copied cookie stops working
 * at once instead of at its expiry.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { type DashboardUser, type UserRole, UserRoleSchema } from '@edgeloop/shared';
import { hashSecret, safeEqual, verifySecret } from './secrets.ts';

/** Where signed-out session ids are kept (store/session-store.ts). */
export interface SessionRevocations {
  revoke(id: string, expiresAt: number): Promise<void>;
  isRevoked(id: string): Promise<boolean>;
}

/** Process-local revocations, for tests and tools that have no store. */
export function memoryRevocations(): SessionRevocations {
  const revoked = new Set<string>();
  return {
    revoke: async (id) => {
      revoked.add(id);
    },
    isRevoked: async (id) => revoked.has(id),
  };
}

export const SESSION_COOKIE = 'edgeloop_session';

export interface Session {
  name: string;
  role: UserRole;
  /** Epoch milliseconds. */
  expiresAt: number;
  /** Random; what sign-out revokes. */
  id: string;
}

export interface Sessions {
  /** The session for these credentials, or null when they match nobody. */
  signIn(name: string, password: string): Promise<Session | null>;
  encode(session: Session): string;
  /** Null for a forged, malformed, expired or signed-out cookie, or a user no longer configured. */
  decode(cookie: string): Promise<Session | null>;
  /** Ends the cookie's session for good (sign-out); a cookie that does not decode changes nothing. */
  revoke(cookie: string): Promise<void>;
}

export function createSessions(options: {
  users: readonly DashboardUser[];
  adminToken: string;
  sessionHours: number;
  now?: () => number;
  revocations?: SessionRevocations;
}): Sessions {
  const now = options.now ?? Date.now;
  const revocations = options.revocations ?? memoryRevocations();
  // An unknown name is checked against this hash, so it costs the same scrypt as a known one and
  // response times do not tell which user names exist.
  let dummyHash: Promise<string> | undefined;
  const dummy = () => {
    dummyHash ??= hashSecret(randomBytes(16).toString('base64url'));
    return dummyHash;
  };
  const newId = () => randomBytes(16).toString('base64url');
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
          ? { name, role: user.role, expiresAt: now() + lifetime, id: newId() }
          : null;
      }
      await verifySecret(password, await dummy());
      // With no user of that name, "admin" + the admin token signs in as admin.
      if (name === 'admin' && safeEqual(password, options.adminToken)) {
        return { name, role: 'admin', expiresAt: now() + lifetime, id: newId() };
      }
      return null;
    },
    encode(session) {
      const body = Buffer.from(
        JSON.stringify([session.name, session.role, session.expiresAt, session.id]),
      ).toString('base64url');
      return `${body}.${sign(body)}`;
    },
    async decode(cookie) {
      const [body, mac] = cookie.split('.');
      if (!body || !mac || !safeEqual(mac, sign(body))) return null;
      let parsed: unknown;
      try {
        parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
      } catch {
        return null;
      }
      if (!Array.isArray(parsed) || parsed.length !== 4) return null;
      const [name, role, expiresAt, id] = parsed as [unknown, unknown, unknown, unknown];
      const roleParsed = UserRoleSchema.safeParse(role);
      if (typeof name !== 'string' || !roleParsed.success || typeof expiresAt !== 'number') return null;
      if (typeof id !== 'string' || expiresAt <= now() || (await revocations.isRevoked(id))) return null;
      // A role taken away in config ends the session at once, a lowered one applies at once.
      const role_ = current(name);
      if (role_ === null) return null;
      return { name, role: role_, expiresAt, id };
    },
    async revoke(cookie) {
      const session = await this.decode(cookie);
      if (session) await revocations.revoke(session.id, session.expiresAt);
    },
  };
}
