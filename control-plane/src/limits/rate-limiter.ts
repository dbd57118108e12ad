/**
 * Token buckets by key, behind one interface. A bucket holds up to `burst` tokens and earns
 * `perSecond` back; `take` spends `cost` or refuses with the wait until it could. The caller is
 * the device quotas (messages, samples, bytes); the credential guard keeps its budgets of failed
 * attempts in a RateBucketStore instead (attempt-budgets.ts), read before a check and charged
 * after a failure.
 *
 * The interface is async so a shared implementation (one bucket per key in Redis or Postgres for
 * several control-plane replicas) can stand in for this in-memory one without touching callers.
 */
export interface RateDecision {
  allowed: boolean;
  /** When refused: seconds until `cost` tokens are there again; 0 when allowed. */
  retryAfterSeconds: number;
}

export interface RateLimiter {
  /** Spends `cost` (default 1) from `key`'s bucket if it holds that much; never waits. */
  take(key: string, cost?: number): Promise<RateDecision>;
  /** Gives back what a take spent (an attempt that turned out honest); never above the burst. */
  refund(key: string, cost?: number): Promise<void>;
}

export interface RatePolicy {
  burst: number;
  perSecond: number;
}

export interface MemoryRateLimiterOptions extends RatePolicy {
  /** Buckets kept; past this the least recently used is forgotten (it starts full again). */
  maxKeys: number;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Buckets in one process's memory, bounded by maxKeys. */
export function createMemoryRateLimiter(options: MemoryRateLimiterOptions): RateLimiter {
  const now = options.now ?? Date.now;
  const buckets = new Map<string, Bucket>();
  const { burst, perSecond } = options;

  function takeNow(key: string, cost: number): RateDecision {
    const t = now();
    const seen = buckets.get(key);
    const tokens = seen ? Math.min(burst, seen.tokens + ((t - seen.at) / 1000) * perSecond) : burst;
    // Re-inserted so the Map's order is least recently used first.
    buckets.delete(key);
    if (tokens >= cost) {
      buckets.set(key, { tokens: tokens - cost, at: t });
      evict();
      return { allowed: true, retryAfterSeconds: 0 };
    }
    buckets.set(key, { tokens, at: t });
    evict();
    // A cost above the burst never fits: say when the bucket is full, the best it will get.
    const missing = Math.min(cost, burst) - tokens;
    return { allowed: false, retryAfterSeconds: missing / perSecond };
  }

  function evict(): void {
    while (buckets.size > options.maxKeys) {
      const oldest = buckets.keys().next().value;
      if (oldest === undefined) return;
      buckets.delete(oldest);
    }
  }

  return {
    take: (key, cost = 1) => Promise.resolve(takeNow(key, cost)),
    async refund(key, cost = 1) {
      const seen = buckets.get(key);
      if (seen) seen.tokens = Math.min(burst, seen.tokens + cost);
    },
  };
}
