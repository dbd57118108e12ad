/**
 * What every credential check passes through before it costs a hash: a budget of failed
 * attempts per source address and one per identity (user name, device id, enrollment token), then,
 * for a scrypt (a password, or a device secret an older version stored so), a place in the bounded
 * hashing queue. Sign-in, enrollment, device Basic auth and MQTT CONNECT all use it, so one address
 * cannot guess more than its budget whichever door it knocks on.
 *
 * Only failures are charged; a check is refused before hashing when either budget is already
 * empty, whether its credentials would have been right or not (else an empty budget would still
 * answer "right" to the one good guess). So an honest fleet behind one address (a NAT, a
 * provisioning station enrolling fifty devices) never spends the budget, and right credentials
 * cost the shared database one read and no write. What an attacker gains over charging up front:
 * a parallel flood is read as "budget left" until its failures are charged, so up to the hashing
 * queue's bound per replica (hashConcurrency + hashQueue; the gate refuses the rest, uncharged)
 * is hashed past an empty budget once. Every one of those failures is still charged, into a debt
 * down to minus the burst that must be earned back before the next attempt, so over time guesses
 * stay within burst + rate x time (+ that one-off in-flight bound).
 */
import { createHash } from 'node:crypto';
import { RateLimitedError, type RateLimitsConfig } from '@edgeloop/shared';
import { createMemoryRateBucketStore, type RateBucketStore } from '../store/rate-bucket-store.ts';
import { type AttemptBudgets, createAttemptBudgets } from './attempt-budgets.ts';
import { createWorkGate, type WorkGate } from './work-gate.ts';

export type CredentialKind = 'sign-in' | 'enroll' | 'device';

/** An admitted attempt: call failed() when the credentials were wrong. */
export interface Attempt {
  failed(): Promise<void>;
}

export interface CredentialGuard {
  /** Refuses (RateLimitedError) when `address` or `identity` has no failed attempt left. */
  admit(kind: CredentialKind, address: string, identity: string): Promise<Attempt>;
  /** Runs password hashing within the bounded queue; throws RateLimitedError when it is full. */
  hash<T>(kind: CredentialKind, work: () => Promise<T>): Promise<T>;
  /** Told of every refusal (the Prometheus counter). */
  onRefused?: (kind: CredentialKind, reason: 'address' | 'identity' | 'busy') => void;
}

export function createCredentialGuard(
  config: RateLimitsConfig,
  options: {
    /** Where the budgets live: the shared database for replicas; this process's memory if absent. */
    buckets?: RateBucketStore;
    now?: () => number;
    gate?: WorkGate;
    onRefused?: CredentialGuard['onRefused'];
  } = {},
): CredentialGuard {
  const budgets: AttemptBudgets = createAttemptBudgets(
    options.buckets ?? createMemoryRateBucketStore(2 * config.trackedKeys),
    config,
    options.now,
  );
  const gate =
    options.gate ??
    createWorkGate({
      concurrency: config.hashConcurrency,
      maxWaiting: config.hashQueue,
      maxWaitMs: config.hashMaxWaitMs,
      what: 'credential checks',
    });
  const guard: CredentialGuard = {
    onRefused: options.onRefused,
    async admit(kind, address, identity) {
      // Hashed: identities may be secrets (an enrollment token) and must not sit in memory as is.
      const id = createHash('sha256').update(identity).digest('base64url').slice(0, 22);
      const keys = { address: `addr:${addressKey(address)}`, identity: `${kind}:${id}` };
      const empty = await budgets.exhausted(keys);
      if (empty) {
        guard.onRefused?.(kind, empty.budget);
        throw new RateLimitedError(
          empty.budget === 'address'
            ? 'too many credential checks from this address'
            : `too many ${kind} attempts for this identity`,
          empty.retryAfterSeconds,
        );
      }
      return { failed: () => budgets.charge(keys) };
    },
    async hash(kind, work) {
      try {
        return await gate.run(work);
      } catch (err) {
        if (err instanceof RateLimitedError) guard.onRefused?.(kind, 'busy');
        throw err;
      }
    },
  };
  return guard;
}

/**
 * IPv6 clients usually own a whole /64, so one of them could rotate through addresses: count
 * them by their /64. IPv4 (and IPv4-mapped IPv6) addresses count one by one.
 */
export function addressKey(address: string): string {
  if (!address.includes(':') || address.startsWith('::ffff:')) return address.replace(/^::ffff:/, '');
  const [head = '', tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::')
    ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
