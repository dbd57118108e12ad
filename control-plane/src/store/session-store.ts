/**
 * Dashboard sessions that were signed out (auth/sessions.ts): their ids, kept until the cookie
 * would have expired anyway, so the table stays as small as the number of live sessions.
 */
import type { SessionRevocations } from '../auth/sessions.ts';
import type { SqlDatabase } from './sql.ts';

export type SessionStore = SessionRevocations;

export function createSqlSessionStore(db: SqlDatabase, now: () => number = Date.now): SessionStore {
  return {
    async revoke(id, expiresAt) {
      await db.transaction(async (tx) => {
        await tx.prepare('DELETE FROM revoked_sessions WHERE expires_at <= ?').run(now());
        await tx
          .prepare('INSERT INTO revoked_sessions (id, expires_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING')
          .run(id, expiresAt);
      });
    },
    async isRevoked(id) {
      return (await db.prepare('SELECT 1 FROM revoked_sessions WHERE id = ?').get(id)) !== undefined;
    },
  };
}
