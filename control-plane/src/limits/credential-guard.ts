/**
 * What every credential check passes through before it costs a scrypt: a budget per source
 * address and one per identity (user name, device id, enrollment token), then a place in the
 * bounded hashing queue. Sign-in, enrollment, device Basic auth and MQTT CONNECT all use it, so
 * one address cannot try more than its budget whichever door it knocks on. An attempt is spent up
 * front (so a parallel flood is limited too) and given back when the credentials were right, so
 * honest bursts (a provisioning station enrolling fifty devices) are not limited; wrong ones are.
 */
import { createHash } from 'node:crypto';
import { RateLimitedError, type RateLimitsConfig } from '@edgeloop/shared';
import type { RateBucketStore } from '../store/rate-bucket-store.ts';
import { createMemoryRateLimiter, type RateLimiter } from './rate-limiter.ts';
import { createStoreRateLimiter } from './store-rate-limiter.ts';
import { createWorkGate, type WorkGate } from './work-gate.ts';

export type CredentialKind = 'sign-in' | 'enroll' | 'device';

/** An admitted attempt: call succeeded() when the credentials were right. */
export interface Attempt {
  succeeded(): Promise<void>;
}

export interface CredentialGuard {
  /** Spends one attempt for `address` and for `identity`; throws RateLimitedError when refused. */
  admit(kind: CredentialKind, address: string, identity: string): Promise<Attempt>;
  /** Runs password hashing within the bounded queue; throws RateLimitedError when it is full. */
  hash<T>(kind: CredentialKind, work: () => Promise<T>): Promise<T>;
  /** Told of every refusal (the Prometheus counter). */
  onRefused?: (kind: CredentialKind, reason: 'address' | 'identity' | 'busy') => void;
}

export function createCredentialGuard(
  config: RateLimitsConfig,
  options: {
    byAddress?: RateLimiter;
    byIdentity?: RateLimiter;
    gate?: WorkGate;
    onRefused?: CredentialGuard['onRefused'];
  } = {},
): CredentialGuard {
  const perMinute = (burst: number, refill: number) =>
    createMemoryRateLimiter({ burst, perSecond: refill / 60, maxKeys: config.trackedKeys });
  const byAddress = options.byAddress ?? perMinute(config.addressBurst, config.addressPerMinute);
  const byIdentity = options.byIdentity ?? perMinute(config.identityBurst, config.identityPerMinute);
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
      const addrKey = `addr:${addressKey(address)}`;
      const byAddr = await byAddress.take(addrKey);
      if (!byAddr.allowed) {
        guard.onRefused?.(kind, 'address');
        throw new RateLimitedError('too many credential checks from this address', byAddr.retryAfterSeconds);
      }
      // Hashed: identities may be secrets (an enrollment token) and must not sit in memory as is.
      const id = createHash('sha256').update(identity).digest('base64url').slice(0, 22);
      const idKey = `${kind}:${id}`;
      const byId = await byIdentity.take(idKey);
      if (!byId.allowed) {
        await byAddress.refund(addrKey);
        guard.onRefused?.(kind, 'identity');
        throw new RateLimitedError(`too many ${kind} attempts for this identity`, byId.retryAfterSeconds);
      }
      return {
        async succeeded() {
          await byAddress.refund(addrKey);
          await byIdentity.refund(idKey);
        },
      };
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

/** The per-address and per-identity budgets in the shared database, for several replicas. */
export function sharedCredentialBudgets(
  buckets: RateBucketStore,
  config: RateLimitsConfig,
): { byAddress: RateLimiter; byIdentity: RateLimiter } {
  return {
    byAddress: createStoreRateLimiter(buckets, {
      name: 'credential-address',
      burst: config.addressBurst,
      perSecond: config.addressPerMinute / 60,
    }),
    byIdentity: createStoreRateLimiter(buckets, {
      name: 'credential-identity',
      burst: config.identityBurst,
      perSecond: config.identityPerMinute / 60,
    }),
  };
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
