/**
 * A short flood (the bench's own code, `edgeloop bench flood`): while attackers from many loopback
 * addresses hammer enrollment, sign-in and MQTT CONNECT with wrong credentials, the health check
 * keeps answering and enrolled devices lose no reported state. Timing is only bounded generously
 * here; the figures are in docs/benchmarks.md.
 */
import { describe, expect, it } from 'vitest';
import { runFlood } from '../../../../bench/flood.ts';

describe('flood of wrong credentials', () => {
  it('keeps health answering and loses no device state', async () => {
    const figures = await runFlood({ attackers: 60, durationS: 4, devices: 5 });
    expect(figures.attempts).toBeGreaterThan(60);
    expect(figures.healthChecks).toBeGreaterThan(3);
    expect(figures.healthFailures).toBe(0);
    expect(figures.healthMaxMs).toBeLessThan(5_000);
    expect(figures.statesSent).toBeGreaterThan(0);
    expect(figures.lostStates).toBe(0);
    expect(figures.lastStateStored).toBe(5);
  }, 120_000);
});
