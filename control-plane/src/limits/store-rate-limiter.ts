/**
 * The RateLimiter over the database's token buckets (store/rate-bucket-store.ts), for replicas:
 * every replica spends from one budget per key, so N replicas behind a balancer do not give an
 * address N times the attempts. It costs a write per take, which is why only the credential
 * guard uses it (attempts that are about to cost a scrypt anyway), never per-message quotas.
 */
import type { RateBucketStore } from '../store/rate-bucket-store.ts';
import type { RateLimiter, RatePolicy } from './rate-limiter.ts';

export interface StoreRateLimiterOptions extends RatePolicy {
  /** Namespaces this limiter's keys in the shared table; letters, digits and dashes. */
  name: string;
  now?: () => number;
}

export function createStoreRateLimiter(
  buckets: RateBucketStore,
  options: StoreRateLimiterOptions,
): RateLimiter {
  const now = options.now ?? Date.now;
  const policy = { burst: options.burst, perMs: options.perSecond / 1000 };
  const prefix = `${options.name}/`;
  // A bucket untouched for this long is full again, so its row can go.
  const fullAfterMs = (options.burst / options.perSecond) * 1000;
  let nextPrune = 0;

  return {
    async take(key, cost = 1) {
      const t = now();
      if (t >= nextPrune) {
        nextPrune = t + Math.max(60_000, fullAfterMs);
        await buckets.prune(prefix, t - fullAfterMs);
      }
      const { allowed, tokens } = await buckets.take(prefix + key, cost, policy, t);
      if (allowed) return { allowed, retryAfterSeconds: 0 };
      // A cost above the burst never fits: say when the bucket is full, the best it will get.
      return { allowed, retryAfterSeconds: (Math.min(cost, options.burst) - tokens) / options.perSecond };
    },
    refund: (key, cost = 1) => buckets.refund(prefix + key, cost, policy),
  };
}
