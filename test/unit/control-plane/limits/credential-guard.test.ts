/**
 * The credential guard charges failed attempts only: right credentials never spend a budget (an
 * honest fleet behind one address is never limited), a budget already empty refuses right ones
 * too, and a parallel flood admitted before its failures landed leaves a debt that is earned back
 * before anyone from that address may try again.
 */
import { RateLimitedError, RateLimitsConfigSchema } from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import { createCredentialGuard } from '../../../../control-plane/src/limits/credential-guard.ts';

function guardAt(overrides: Record<string, number>) {
  const clock = { now: 0 };
  const refusals: string[] = [];
  const guard = createCredentialGuard(RateLimitsConfigSchema.parse(overrides), {
    now: () => clock.now,
    onRefused: (kind, reason) => refusals.push(`${kind}/${reason}`),
  });
  return { guard, clock, refusals };
}

describe('credential guard', () => {
  it('never spends a budget on right credentials, however many', async () => {
    const { guard } = guardAt({ addressBurst: 3, addressPerMinute: 1 });
    // A hundred devices behind one address checking right secrets: all admitted, none charged.
    for (let i = 0; i < 100; i++) await guard.admit('device', '203.0.113.9', `cam-${i}`);
    for (let i = 0; i < 3; i++) await (await guard.admit('device', '203.0.113.9', 'cam-x')).failed();
    await expect(guard.admit('device', '203.0.113.9', 'cam-0')).rejects.toBeInstanceOf(RateLimitedError);
  });

  it('refuses right and wrong credentials alike once the failures emptied a budget, until it refills', async () => {
    const { guard, clock, refusals } = guardAt({ addressBurst: 100, identityBurst: 2, identityPerMinute: 6 });
    for (let i = 0; i < 2; i++) await (await guard.admit('sign-in', '198.51.100.1', 'olga')).failed();
    const refused = await guard.admit('sign-in', '198.51.100.2', 'olga').catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect((refused as RateLimitedError).retryAfterSeconds).toBe(10);
    expect(refusals).toEqual(['sign-in/identity']);
    // Another identity, another kind: their own budgets.
    await guard.admit('sign-in', '198.51.100.1', 'vic');
    await guard.admit('enroll', '198.51.100.1', 'olga');
    clock.now = 10_000;
    await guard.admit('sign-in', '198.51.100.2', 'olga');
  });

  it('charges a flood admitted before its failures landed, as a debt earned back first', async () => {
    const { guard, clock } = guardAt({ addressBurst: 2, addressPerMinute: 60 });
    // Six checks read the budget before any of them failed (the hashing queue bounds how many).
    const flood = await Promise.all(
      Array.from({ length: 6 }, (_, i) => guard.admit('device', '192.0.2.7', `ghost-${i}`)),
    );
    await Promise.all(flood.map((attempt) => attempt.failed()));
    // Two in the burst, four more into debt (down to minus the burst): three seconds at 1/s.
    clock.now = 2_999;
    await expect(guard.admit('device', '192.0.2.7', 'ghost-9')).rejects.toBeInstanceOf(RateLimitedError);
    clock.now = 3_000;
    await guard.admit('device', '192.0.2.7', 'ghost-9');
  });
});
