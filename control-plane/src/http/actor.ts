/**
 * Who an admin call acts for. The admin token is shared, so people and tools name themselves in
 * `X-Edgeloop-Actor` (e.g. `alice`, `pipeline`); labels, versions and promotions record it. It is
 * an attribution, not an authentication: anyone holding the admin token can claim any name.
 * Dashboard users (session cookie) are recorded under their own name.
 */
import { ACTOR_HEADER, ActorSchema, parseWith } from '@edgeloop/shared';
import type { Context } from 'hono';
import type { Principal } from './env.ts';

export const DEFAULT_ACTOR = 'admin';

export function actorOf(c: Context): string {
  // A signed-in dashboard user acts as themself, never under a claimed name.
  const principal = c.get('principal') as Principal | undefined;
  if (principal?.kind === 'user') return principal.name;
  // A device is recorded as itself; only the admin token may name an actor.
  if (principal?.kind === 'device') return principal.deviceId;
  const header = c.req.header(ACTOR_HEADER);
  return header === undefined ? DEFAULT_ACTOR : parseWith(ActorSchema, header, `header ${ACTOR_HEADER}`);
}
