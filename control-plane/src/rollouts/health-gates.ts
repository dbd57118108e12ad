/**
 * The checks between waves. Pure: the engine gathers the wave's devices and error count, this
 * decides. Besides install success and agent errors, two model-behaviour gates compare what each
 * device reported for the new version with what the same device reported for the version it
 * replaced (mean top-1 confidence and low-confidence rate), so a model that installs fine but is
 * worse in the field stops the rollout.
 */
import type { GateCheck, HealthGates } from '@edgeloop/shared';
import type { RolloutDeviceRecord } from '../store/rollout-store.ts';

export interface GateInput {
  devices: readonly RolloutDeviceRecord[];
  agentErrors: number;
  gates: HealthGates;
  countTimeouts: boolean;
}

const round = (v: number) => Math.round(v * 10_000) / 10_000;

export function evaluateGates(input: GateInput): GateCheck[] {
  const { devices, gates } = input;
  const active = devices.filter((d) => d.state === 'active').length;
  const failed = devices.filter((d) => d.state === 'failed').length;
  const timedOut = devices.filter((d) => d.state === 'timed_out').length;
  const finished = active + failed + (input.countTimeouts ? timedOut : 0);
  const checks: GateCheck[] = [];

  const success = finished === 0 ? null : (active / finished) * 100;
  checks.push({
    name: 'install-success',
    passed: success !== null && success >= gates.minSuccessPercent,
    value: success === null ? null : round(success),
    limit: gates.minSuccessPercent,
    detail:
      success === null
        ? `no device of the wave finished (${timedOut} timed out)`
        : `${active} of ${finished} finished devices active (${timedOut} timed out)`,
  });

  checks.push({
    name: 'agent-errors',
    passed: input.agentErrors <= gates.maxAgentErrors,
    value: input.agentErrors,
    limit: gates.maxAgentErrors,
    detail: `${input.agentErrors} agent or camera errors reported during the wave`,
  });

  // Only devices with enough predictions on both versions say anything about the model.
  const compared = devices.filter(
    (d) =>
      d.state === 'active' &&
      d.baseline !== null &&
      d.latest !== null &&
      d.baseline.predictions >= gates.minPredictions &&
      d.latest.predictions >= gates.minPredictions,
  );
  const mean = (f: (d: RolloutDeviceRecord) => number) =>
    compared.length === 0 ? null : compared.reduce((s, d) => s + f(d), 0) / compared.length;
  const drop = mean((d) => d.baseline!.meanConfidence - d.latest!.meanConfidence);
  const rise = mean((d) => d.latest!.lowConfidenceRate - d.baseline!.lowConfidenceRate);
  const noData = `no device had ${gates.minPredictions} predictions on both versions`;
  checks.push({
    name: 'mean-confidence-drop',
    passed: drop === null || drop <= gates.maxMeanConfidenceDrop,
    value: drop === null ? null : round(drop),
    limit: gates.maxMeanConfidenceDrop,
    detail: drop === null ? noData : `mean confidence fell by ${round(drop)} on ${compared.length} devices`,
  });
  checks.push({
    name: 'low-confidence-rate-rise',
    passed: rise === null || rise <= gates.maxLowConfidenceRateIncrease,
    value: rise === null ? null : round(rise),
    limit: gates.maxLowConfidenceRateIncrease,
    detail:
      rise === null ? noData : `low-confidence rate rose by ${round(rise)} on ${compared.length} devices`,
  });
  return checks;
}
