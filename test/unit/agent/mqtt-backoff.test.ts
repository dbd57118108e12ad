/** The agent's reconnect delays after a refused or lost MQTT connection. */
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../../agent/src/comms/mqtt-link.ts';

describe('agent reconnect backoff', () => {
  it('doubles from the base, stays under the cap, and is jittered', () => {
    expect(backoffDelay(0, 1_000, 60_000, () => 0)).toBe(500);
    expect(backoffDelay(3, 1_000, 60_000, () => 1)).toBe(8_000);
    expect(backoffDelay(40, 1_000, 60_000, () => 1)).toBe(60_000);
    expect(backoffDelay(40, 1_000, 60_000, () => 0)).toBe(30_000);
  });
});
