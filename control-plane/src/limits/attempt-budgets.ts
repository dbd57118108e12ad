/**
 * The credential guard's two budgets of failed attempts, per source address and per identity, as
 * token buckets in a RateBucketStore: the process's memory for one control plane, the shared
 * database for replicas (so N replicas behind a balancer do not give an address N times the
 * attempts). Checking both is one read and spends nothing (checks arriving together share it,
 * store/gathered-reads.ts); only a failed check is charged, one write per budget, so right
 * credentials cost the database no write at all.
 */
import type { RateLimitsConfig } from '@edgeloop/shared';
import { gatheredReads } from '../store/gathered-reads.ts';
import { type BucketPolicy, bucketLevel, type RateBucketStore } from '../store/rate-bucket-store.ts';

export type BudgetName = 'address' | 'identity';
export type BudgetKeys = Record<BudgetName, string>;

export interface AttemptBudgets {
  /** The first budget with no attempt left for these keys, read without spending, or null. */
  exhausted(keys: BudgetKeys): Promise<{ budget: BudgetName; retryAfterSeconds: number } | null>;
  /** Spends one attempt from each budget: a check whose credentials were wrong. */
  charge(keys: BudgetKeys): Promise<void>;
}

const ORDER: readonly BudgetName[] = ['address', 'identity'];

export function createAttemptBudgets(
  buckets: RateBucketStore,
  config: RateLimitsConfig,
  now: () => number = Date.now,
): AttemptBudgets {
  const policies: Record<BudgetName, BucketPolicy> = {
    address: { burst: config.addressBurst, perMs: config.addressPerMinute / 60_000 },
    identity: { burst: config.identityBurst, perMs: config.identityPerMinute / 60_000 },
  };
  // Namespaces in the shared table, the names the buckets have always had.
  const prefix: Record<BudgetName, string> = {
    address: 'credential-address/',
    identity: 'credential-identity/',
  };
  // A bucket untouched this long is full again even from the deepest debt, so its row can go.
  const fullAfterMs = Math.max(...ORDER.map((b) => (2 * policies[b].burst) / policies[b].perMs));
  let nextPrune = 0;
  const read = gatheredReads((keys) => buckets.read(keys));

  return {
    async exhausted(keys) {
      const t = now();
      const rows = await Promise.all(ORDER.map((b) => read(prefix[b] + keys[b])));
      for (const [i, budget] of ORDER.entries()) {
        const level = bucketLevel(rows[i], policies[budget], t);
        if (level < 1) return { budget, retryAfterSeconds: (1 - level) / (policies[budget].perMs * 1000) };
      }
      return null;
    },
    async charge(keys) {
      const t = now();
      if (t >= nextPrune) {
        nextPrune = t + Math.max(60_000, fullAfterMs);
        for (const budget of ORDER) await buckets.prune(prefix[budget], t - fullAfterMs);
      }
      await Promise.all(ORDER.map((b) => buckets.charge(prefix[b] + keys[b], 1, policies[b], t)));
    },
  };
}
