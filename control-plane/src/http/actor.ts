/**
 * Who an admin call acts for. The admin token is shared, so people and tools name themselves in
 * `X-Edgeloop-Actor` (e.g. `alice`, `pipeline`); labels, versions and promotions record it. It is
 * an attribution, not an authentication: anyone holding the admin token can claim any name.
 */
import { ACTOR_HEADER, ActorSchema, parseWith } from '@edgeloop/shared';
import type { Context } from 'hono';

export const DEFAULT_ACTOR = 'admin';

export function actorOf(c: Context): string {
  const header = c.req.header(ACTOR_HEADER);
  return header === undefined ? DEFAULT_ACTOR : parseWith(ActorSchema, header, `header ${ACTOR_HEADER}`);
}
