/**
 * Turns what a device reports (ReportedState: running version, update phase, field confidence)
 * into its execution state in each rollout that holds it. States only move forward, except that
 * a failed or timed-out device that later reports success becomes active (it caught up), and an
 * aborted rollout's device becomes rolled_back once it runs its previous version again.
 */
import type { Logger, ReportedState, RolloutDeviceState } from '@edgeloop/shared';
import type { CommittedState } from '../fleet/ingest-batcher.ts';
import type { RolloutDeviceRecord, RolloutMove, RolloutStats, RolloutStore } from '../store/rollout-store.ts';
import { RANK } from './device-states.ts';

/** Device clocks drift; an update report stamped slightly before the notification still counts. */
const CLOCK_SKEW_MS = 5_000;

function derive(state: ReportedState, entry: RolloutDeviceRecord, version: number) {
  if (state.modelVersion === version && state.status !== 'downloading' && state.status !== 'verifying') {
    return { next: 'active' as const, reason: `running version ${version}` };
  }
  const u = state.update;
  if (!u || u.targetVersion !== version || entry.notifiedAt === null) return null;
  // A report about this version from before the notification belongs to an earlier attempt.
  if (Date.parse(u.at) < Date.parse(entry.notifiedAt) - CLOCK_SKEW_MS) return null;
  if (u.phase === 'failed')
    return { next: 'failed' as const, reason: u.detail ?? u.code ?? 'install failed' };
  return { next: u.phase, reason: u.detail ?? null };
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** States a device's own report may move it out of (the rest are the engine's or final). */
const MOVABLE = new Set<RolloutDeviceState>([
  'notified',
  'downloading',
  'verifying',
  'installed',
  'failed',
  'timed_out',
]);

function isForward(from: RolloutDeviceState, next: RolloutDeviceState): boolean {
  if (next === from) return false;
  return (
    next === 'failed' || from === 'failed' || from === 'timed_out' || (RANK[next] ?? 0) > (RANK[from] ?? 0)
  );
}

/** The rollout's field figures for the versions before and after, when the report changes them. */
function statsOf(state: ReportedState, entry: RolloutDeviceRecord, version: number) {
  if (!state.modelStats) return null;
  const baseline = state.modelStats.find((s) => s.modelVersion === entry.previousVersion) ?? entry.baseline;
  const latest = state.modelStats.find((s) => s.modelVersion === version) ?? entry.latest;
  return sameJson(baseline, entry.baseline) && sameJson(latest, entry.latest) ? null : { baseline, latest };
}

/**
 * The move one report calls for in one rollout entry, or null: the rules of this module, written
 * once for the batched path and for the one-report path that re-decides a move another writer beat.
 */
function decide(
  state: ReportedState,
  entry: RolloutDeviceRecord,
  version: number,
): { to: RolloutDeviceState; reason: string | null } | null {
  if (entry.state === 'rolling_back') {
    return state.modelVersion === entry.previousVersion && state.status === 'running'
      ? { to: 'rolled_back', reason: `running version ${state.modelVersion} again` }
      : null;
  }
  if (!MOVABLE.has(entry.state)) return null;
  const derived = derive(state, entry, version);
  if (!derived) return null;
  if (derived.next === entry.state) {
    // Same phase, new finding (a shadow-mode agreement): recorded, the state stays.
    return state.update?.agreement && derived.reason !== entry.reason
      ? { to: entry.state, reason: derived.reason }
      : null;
  }
  return isForward(entry.state, derived.next) ? { to: derived.next, reason: derived.reason } : null;
}

/** Not yet told, already back, or let go because an operator pinned the device: nothing to record. */
const UNTRACKED = new Set<RolloutDeviceState>(['queued', 'rolled_back', 'skipped']);

/**
 * One report, statement by statement, each move a compare-and-set from the state read: another
 * replica (recording a newer report) or the leader (timing the device out) may have moved the
 * entry meanwhile; then it is decided again from what is stored now.
 */
export async function trackReportedState(
  deps: { rollouts: RolloutStore; logger: Logger },
  deviceId: string,
  state: ReportedState,
  at: string,
): Promise<Set<string>> {
  const { rollouts } = deps;
  const changed = new Set<string>();
  for (const entry of await rollouts.entriesOf(deviceId)) {
    if (UNTRACKED.has(entry.state)) continue;
    const rollout = await rollouts.get(entry.rolloutId);
    if (!rollout) continue;
    const version = rollout.modelVersion;
    const stats = statsOf(state, entry, version);
    if (stats) await rollouts.setStats(entry.rolloutId, deviceId, stats.baseline, stats.latest);
    let current: RolloutDeviceRecord | undefined = entry;
    for (let attempt = 0; current && attempt < 3; attempt++) {
      const move = decide(state, current, version);
      if (!move) break;
      if (await rollouts.advance(entry.rolloutId, deviceId, current.state, move.to, move.reason, at)) {
        changed.add(entry.rolloutId);
        deps.logger.debug(
          { rolloutId: entry.rolloutId, deviceId, from: current.state, to: move.to },
          'rollout device state',
        );
        break;
      }
      current = (await rollouts.entriesOf(deviceId)).find((e) => e.rolloutId === entry.rolloutId);
    }
  }
  return changed;
}

/** A reported state as the ingest batcher hands it over, after it was stored. */
export type TrackedReport = CommittedState;

/**
 * trackReportedState for a batch of reports (in arrival order), with one read for every device's
 * entries and one transaction for what changed, instead of several statements per report: a
 * fleet-wide rollout brings thousands of reports a second. Decides exactly as the one-report path
 * does; a device another writer moved meanwhile (a move that did not apply) has its remaining
 * reports decided again through that path, from what is stored now.
 */
export async function trackReportedStates(
  deps: { rollouts: RolloutStore; logger: Logger },
  reports: readonly TrackedReport[],
): Promise<Set<string>> {
  const { rollouts } = deps;
  const changed = new Set<string>();
  if (reports.length === 0) return changed;
  const entries = await rollouts.trackedEntriesOf(reports.map((r) => r.deviceId));
  if (entries.size === 0) return changed;
  const moves: RolloutMove[] = [];
  /** For each move, the index of the report it came from. */
  const moveReport: number[] = [];
  const stats = new Map<string, RolloutStats>();
  reports.forEach((report, index) => {
    const { deviceId, state, receivedAt: at } = report;
    for (const entry of entries.get(deviceId) ?? []) {
      if (UNTRACKED.has(entry.state)) continue;
      const version = entry.modelVersion;
      const figures = statsOf(state, entry, version);
      if (figures) {
        entry.baseline = figures.baseline;
        entry.latest = figures.latest;
        stats.set(`${entry.rolloutId}\u0000${deviceId}`, {
          rolloutId: entry.rolloutId,
          deviceId,
          ...figures,
        });
      }
      const move = decide(state, entry, version);
      if (!move) continue;
      moves.push({ rolloutId: entry.rolloutId, deviceId, from: entry.state, ...move, at });
      moveReport.push(index);
      entry.state = move.to;
      entry.reason = move.reason;
    }
  });
  let applied: boolean[];
  try {
    applied = await rollouts.applyTracking(moves, [...stats.values()]);
  } catch (err) {
    // E.g. a deadlock with another writer: decide every report again, one by one.
    deps.logger.warn(
      { err, reports: reports.length },
      'batched rollout tracking failed; tracking one by one',
    );
    for (const r of reports)
      for (const id of await trackReportedState(deps, r.deviceId, r.state, r.receivedAt)) changed.add(id);
    return changed;
  }
  /** Per device, the first report whose move did not apply: from there on, decide again. */
  const redo = new Map<string, number>();
  applied.forEach((ok, i) => {
    const m = moves[i]!;
    if (ok) changed.add(m.rolloutId);
    else if (!redo.has(m.deviceId)) redo.set(m.deviceId, moveReport[i]!);
  });
  for (const [deviceId, from] of redo) {
    for (let i = from; i < reports.length; i++) {
      const r = reports[i]!;
      if (r.deviceId !== deviceId) continue;
      for (const id of await trackReportedState(deps, deviceId, r.state, r.receivedAt)) changed.add(id);
    }
  }
  return changed;
}
