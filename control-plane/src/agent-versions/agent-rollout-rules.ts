/**
 * The pure rules of agent rollouts: what a device's report means for its state in a rollout, and
 * the gates between waves (confirmed share, failed self-updates, agent errors).
 */
import type { GateCheck, ReportedState, RolloutDeviceState } from '@edgeloop/shared';
import type { AgentRolloutDeviceRecord, AgentRolloutRecord } from '../store/agent-version-store.ts';

/** What a report means for a device of a rollout to `version`, or null when nothing. */
export function deriveAgentState(state: ReportedState, entry: AgentRolloutDeviceRecord, version: string) {
  if (entry.state === 'rolling_back') {
    return state.agentVersion === entry.previousVersion
      ? { next: 'rolled_back' as const, reason: `running agent ${state.agentVersion} again` }
      : null;
  }
  const u = state.agentUpdate;
  // Running it on trial is not done yet: the launcher may still revert it. Active once confirmed
  // (or when the device runs it without an update of its own to it).
  const onTrial = u?.targetVersion === version && u.phase !== 'active';
  if (state.agentVersion === version && !onTrial)
    return { next: 'active' as const, reason: `running agent ${version}, confirmed healthy` };
  if (!u || u.targetVersion !== version || entry.notifiedAt === null) return null;
  // A report from before the notification belongs to an earlier attempt (5 s of clock skew allowed).
  if (Date.parse(u.at) < Date.parse(entry.notifiedAt) - 5_000) return null;
  if (u.phase === 'failed' || u.phase === 'reverted')
    return {
      next: 'failed' as const,
      reason: `self-update ${u.phase}: ${u.detail ?? u.code ?? 'no detail'}`,
    };
  if (u.phase === 'active') return { next: 'active' as const, reason: `running agent ${version}` };
  return { next: u.phase, reason: u.detail ?? null };
}

export function agentGates(
  devices: readonly AgentRolloutDeviceRecord[],
  r: AgentRolloutRecord,
  agentErrors: number,
): GateCheck[] {
  const { gates, abort } = r.strategy;
  const count = (s: RolloutDeviceState) => devices.filter((d) => d.state === s).length;
  const failed = count('failed');
  const finished = count('active') + failed + (abort.countTimeouts ? count('timed_out') : 0);
  const success = finished === 0 ? null : (count('active') / finished) * 100;
  // The share of failures minSuccessPercent tolerates, as a count of this wave's devices.
  const allowedFailures = Math.floor(((100 - gates.minSuccessPercent) / 100) * devices.length);
  return [
    {
      name: 'update-success',
      passed: success !== null && success >= gates.minSuccessPercent,
      value: success === null ? null : Math.round(success * 100) / 100,
      limit: gates.minSuccessPercent,
      detail: `${count('active')} of ${finished} finished devices confirmed the new agent healthy`,
    },
    {
      name: 'failed-self-updates',
      passed: failed <= allowedFailures,
      value: failed,
      limit: allowedFailures,
      detail: `${failed} self-updates failed or were reverted`,
    },
    {
      name: 'agent-errors',
      passed: agentErrors <= gates.maxAgentErrors,
      value: agentErrors,
      limit: gates.maxAgentErrors,
      detail: `${agentErrors} agent or camera errors during the wave`,
    },
  ];
}
