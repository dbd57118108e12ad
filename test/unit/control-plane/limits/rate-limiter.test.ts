/**
 * Token buckets: a burst, then a steady rate; refunds never exceed the burst; the bucket table
 * forgets its least recently used keys past maxKeys; IPv6 clients count by /64.
 */
import { describe, expect, it } from 'vitest';
import { addressKey } from '../../../../control-plane/src/limits/credential-guard.ts';
import { createMemoryRateLimiter } from '../../../../control-plane/src/limits/rate-limiter.ts';

describe('memory rate limiter', () => {
  it('allows a burst, then earns tokens back at its rate', async () => {
    let now = 0;
    const limiter = createMemoryRateLimiter({ burst: 3, perSecond: 0.5, maxKeys: 10, now: () => now });
    for (let i = 0; i < 3; i++) expect((await limiter.take('a')).allowed).toBe(true);
    const refused = await limiter.take('a');
    expect(refused).toEqual({ allowed: false, retryAfterSeconds: 2 });
    expect((await limiter.take('b')).allowed).toBe(true);
    now = 2_000;
    expect((await limiter.take('a')).allowed).toBe(true);
    expect((await limiter.take('a')).allowed).toBe(false);
  });

  it('takes a cost, gives refunds back up to the burst', async () => {
    const limiter = createMemoryRateLimiter({ burst: 100, perSecond: 1, maxKeys: 10, now: () => 0 });
    expect((await limiter.take('d', 80)).allowed).toBe(true);
    expect((await limiter.take('d', 30)).allowed).toBe(false);
    await limiter.refund('d', 500);
    expect((await limiter.take('d', 100)).allowed).toBe(true);
    expect((await limiter.take('d', 1)).allowed).toBe(false);
  });

  it('forgets the least recently used keys past maxKeys', async () => {
    const limiter = createMemoryRateLimiter({ burst: 1, perSecond: 0.001, maxKeys: 2, now: () => 0 });
    await limiter.take('x');
    await limiter.take('y');
    await limiter.take('z'); // x is forgotten: it starts full again
    expect((await limiter.take('x')).allowed).toBe(true);
    expect((await limiter.take('z')).allowed).toBe(false);
  });

  it('counts IPv6 clients by their /64 and IPv4 ones one by one', () => {
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2:ffff:1:2:3')).toBe('2001:db8:1:2::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('::ffff:10.0.0.7')).toBe('10.0.0.7');
    expect(addressKey('10.0.0.7')).toBe('10.0.0.7');
  });
});
