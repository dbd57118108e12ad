/** Text view of a rollout: its waves with gate results, and each device's current state. */
import type { AgentRollout, Rollout } from '@edgeloop/shared';

/** Model rollouts and agent rollouts (their version is a string, shown as `agent X`). */
export function formatRollout(r: Rollout | AgentRollout): string {
  const version = 'modelVersion' in r ? `version ${r.modelVersion}` : `agent ${r.agentVersion}`;
  const counts = Object.entries(r.counts)
    .map(([state, n]) => `${state}=${n}`)
    .join(' ');
  const lines = [
    `${r.rolloutId}  ${version}  ${r.state}  wave ${r.currentWave + 1}/${r.waves.length}  ${counts}`,
  ];
  if (r.reason) lines.push(`  reason: ${r.reason}`);
  for (const w of r.waves) {
    lines.push(`  wave ${w.index + 1}: ${w.devices} devices, ${w.state}`);
    for (const c of w.checks ?? []) lines.push(`    ${c.passed ? 'pass' : 'FAIL'} ${c.name}: ${c.detail}`);
  }
  for (const d of r.devices) {
    lines.push(`  ${d.deviceId.padEnd(20)} wave ${d.wave + 1}  ${d.state.padEnd(12)} ${d.reason ?? ''}`);
  }
  return `${lines.join('\n')}\n`;
}
