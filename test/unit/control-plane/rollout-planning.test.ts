/** How a rollout splits its target into waves, and what its health gates decide. */
import { HealthGatesSchema, type ModelConfidence } from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import { evaluateGates } from '../../../control-plane/src/rollouts/health-gates.ts';
import { waveSizes } from '../../../control-plane/src/rollouts/waves.ts';
import type { RolloutDeviceRecord } from '../../../control-plane/src/store/rollout-store.ts';

describe('waveSizes', () => {
  it('makes a canary, then cumulative shares, and reaches every device', () => {
    const waves = [{ devices: 1 }, { percent: 10 }, { percent: 50 }, { percent: 100 }];
    expect(waveSizes(waves, 1000)).toEqual([1, 99, 400, 500]);
    expect(waveSizes(waves, 3)).toEqual([1, 1, 1, 0]);
    expect(waveSizes([{ percent: 30 }], 10)).toEqual([10]); // the last wave always covers the rest
    expect(waveSizes([{ devices: 5 }, { percent: 100 }], 2)).toEqual([2, 0]);
  });
});

const stats = (modelVersion: number, mean: number, low: number, predictions = 50): ModelConfidence => ({
  modelVersion,
  predictions,
  meanConfidence: mean,
  lowConfidenceRate: low,
  lowConfidenceThreshold: 0.6,
  since: '2026-11-22T10:00:00.000Z',
  until: '2026-11-22T10:05:00.000Z',
});

function device(
  state: RolloutDeviceRecord['state'],
  baseline: ModelConfidence | null,
  latest: ModelConfidence | null,
) {
  return {
    rolloutId: 'r',
    deviceId: `d-${Math.random()}`,
    wave: 0,
    state,
    previousVersion: 1,
    reason: null,
    notifiedAt: null,
    updatedAt: '',
    baseline,
    latest,
  } satisfies RolloutDeviceRecord;
}

const gates = HealthGatesSchema.parse({ minPredictions: 20 });
const verdict = (devices: RolloutDeviceRecord[], agentErrors = 0) =>
  Object.fromEntries(
    evaluateGates({ devices, agentErrors, gates, countTimeouts: false }).map((c) => [c.name, c.passed]),
  );

describe('evaluateGates', () => {
  it('passes a wave whose devices are as confident as on their previous version', () => {
    const ok = [device('active', stats(1, 0.9, 0.1), stats(2, 0.91, 0.08)), device('timed_out', null, null)];
    expect(verdict(ok)).toEqual({
      'install-success': true,
      'agent-errors': true,
      'mean-confidence-drop': true,
      'low-confidence-rate-rise': true,
    });
  });

  it('fails on a confidence collapse, on failed installs and on agent errors', () => {
    expect(verdict([device('active', stats(1, 0.9, 0.1), stats(2, 0.55, 0.9))])).toMatchObject({
      'mean-confidence-drop': false,
      'low-confidence-rate-rise': false,
    });
    expect(verdict([device('active', null, null), device('failed', null, null)])['install-success']).toBe(
      false,
    );
    expect(verdict([device('active', null, null)], 1)['agent-errors']).toBe(false);
    expect(verdict([device('timed_out', null, null)])['install-success']).toBe(false);
  });

  it('ignores devices with too few predictions instead of judging on noise', () => {
    const thin = [device('active', stats(1, 0.9, 0.1), stats(2, 0.2, 1, 3))];
    const checks = evaluateGates({ devices: thin, agentErrors: 0, gates, countTimeouts: false });
    expect(checks.find((c) => c.name === 'mean-confidence-drop')).toMatchObject({
      passed: true,
      value: null,
    });
  });
});
