/**
 * What an agent rollout makes of a device's reports: a new agent on trial is not yet done, a
 * confirmed one is, a failed or reverted self-update is a failure the gates count.
 */
import { PROTOCOL_VERSION, type ReportedState, RolloutStrategySchema } from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import {
  agentGates,
  deriveAgentState,
} from '../../../control-plane/src/agent-versions/agent-rollout-rules.ts';
import type {
  AgentRolloutDeviceRecord,
  AgentRolloutRecord,
} from '../../../control-plane/src/store/agent-version-store.ts';

const NOTIFIED = '2026-12-06T10:00:00.000Z';
const LATER = '2026-12-06T10:01:00.000Z';

function entry(state: AgentRolloutDeviceRecord['state'] = 'notified'): AgentRolloutDeviceRecord {
  return {
    rolloutId: 'arol-1',
    deviceId: 'd1',
    wave: 0,
    state,
    previousVersion: '0.1.0',
    reason: null,
    notifiedAt: NOTIFIED,
    updatedAt: NOTIFIED,
    history: [],
  };
}

function report(
  agentVersion: string,
  update?: Partial<NonNullable<ReportedState['agentUpdate']>>,
): ReportedState {
  return {
    protocol: PROTOCOL_VERSION,
    modelVersion: null,
    status: 'idle',
    agentVersion,
    framesProcessed: 0,
    samplesQueued: 0,
    reportedAt: LATER,
    agentUpdate: update ? { targetVersion: '0.2.0', phase: 'downloading', at: LATER, ...update } : undefined,
  };
}

describe('deriveAgentState', () => {
  it('follows the phases, and counts the new agent active only once it confirmed itself', () => {
    expect(deriveAgentState(report('0.1.0', { phase: 'downloading' }), entry(), '0.2.0')?.next).toBe(
      'downloading',
    );
    expect(deriveAgentState(report('0.2.0', { phase: 'installed' }), entry('installed'), '0.2.0')?.next).toBe(
      'installed',
    );
    expect(deriveAgentState(report('0.2.0', { phase: 'active' }), entry('installed'), '0.2.0')?.next).toBe(
      'active',
    );
    // Already on it without an update of its own: nothing to wait for.
    expect(deriveAgentState(report('0.2.0'), entry(), '0.2.0')?.next).toBe('active');
  });

  it('turns a reverted or failed self-update into a failed device, with the reason', () => {
    const reverted = deriveAgentState(
      report('0.1.0', {
        phase: 'reverted',
        detail: 'crash-loop: started 3 times without confirming healthy',
      }),
      entry('installed'),
      '0.2.0',
    );
    expect(reverted).toEqual({
      next: 'failed',
      reason: 'self-update reverted: crash-loop: started 3 times without confirming healthy',
    });
    expect(
      deriveAgentState(report('0.1.0', { phase: 'failed', code: 'MANIFEST_DOWNGRADE' }), entry(), '0.2.0')
        ?.next,
    ).toBe('failed');
  });

  it('ignores a report about an attempt from before the notification, and one about another version', () => {
    const old = report('0.1.0', { phase: 'reverted', at: '2026-12-06T09:00:00.000Z' });
    expect(deriveAgentState(old, entry(), '0.2.0')).toBeNull();
    expect(
      deriveAgentState(report('0.1.0', { targetVersion: '0.3.0', phase: 'failed' }), entry(), '0.2.0'),
    ).toBeNull();
  });

  it('sees a device rolled back once it runs its previous version again', () => {
    expect(deriveAgentState(report('0.1.0'), entry('rolling_back'), '0.2.0')?.next).toBe('rolled_back');
    expect(deriveAgentState(report('0.2.0'), entry('rolling_back'), '0.2.0')).toBeNull();
  });
});

describe('agentGates', () => {
  const rollout = { strategy: RolloutStrategySchema.parse({}) } as AgentRolloutRecord;

  it('fails the wave on one failed self-update with the default 100% success gate', () => {
    const checks = agentGates([entry('active'), { ...entry('failed'), deviceId: 'd2' }], rollout, 0);
    expect(checks.find((c) => c.name === 'failed-self-updates')).toMatchObject({
      passed: false,
      value: 1,
      limit: 0,
    });
    expect(checks.find((c) => c.name === 'update-success')).toMatchObject({ passed: false, value: 50 });
  });

  it('passes a wave whose devices all confirmed, and counts agent errors', () => {
    const checks = agentGates([entry('active')], rollout, 1);
    expect(checks.filter((c) => !c.passed).map((c) => c.name)).toEqual(['agent-errors']);
  });
});
