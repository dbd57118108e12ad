/** Devices and fleet targets as the `edgeloop device` command prints them for a person. */
import type { DeviceSummary, FleetSelector, FleetTarget } from '@edgeloop/shared';

const version = (v: number | null) => (v === null ? '-' : `v${v}`);

export function selectorText(s: FleetSelector): string {
  if ('group' in s) return `group ${s.group}`;
  if ('tags' in s) return `tags ${s.tags.join(',')}`;
  return 'all devices';
}

/** One line: id, group, tags, running → desired, and the pin or convergence that explains it. */
export function formatDeviceLine(d: DeviceSummary): string {
  const notes = [
    d.online ? 'online' : 'offline',
    d.pin
      ? `pinned to v${d.pin.modelVersion} by ${d.pin.pinnedBy}${d.pin.reason ? ` (${d.pin.reason})` : ''}`
      : null,
    d.converging ? `converging to ${version(d.desiredVersion)}` : null,
  ].filter((n) => n !== null);
  const tags = d.tags.length > 0 ? ` [${d.tags.join(',')}]` : '';
  return `${d.deviceId}  ${d.group}${tags}  runs ${version(d.reportedVersion)}  ${notes.join(', ')}\n`;
}

export function formatTargets(targets: readonly FleetTarget[]): string {
  if (targets.length === 0)
    return 'no group or tag targets yet (a completed rollout to a group, tags or all sets one)\n';
  return targets
    .map(
      (t) =>
        `${selectorText(t.selector)}  v${t.modelVersion}  set ${t.setAt}` +
        `${t.rolloutId ? ` by ${t.rolloutId}` : ' by an assignment'}` +
        `${t.previousVersion === null ? '' : `  (was v${t.previousVersion})`}\n`,
    )
    .join('');
}
