/**
 * Drives agent rollouts from the database, the way rollout-engine.ts drives model rollouts (same
 * strategy: waves, notification rate, soak, device timeout, abort criteria, gates) with the same
 * wave driver (rollouts/wave-driver.ts). A device is told through its signed desired state (`agent`); what it reports
 * (agentVersion, agentUpdate) moves it along. A failed or reverted self-update is a failed device:
 * the abort criteria and the `failed-self-updates` gate stop the rollout, and an abort orders
 * every touched device back to the agent version it ran before (marked as a rollback, so the
 * device's anti-rollback lets it go down).
 */
import { randomUUID } from 'node:crypto';
import {
  type AgentRollout,
  ConflictError,
  type CreateAgentRollout,
  type Logger,
  NotFoundError,
  type ReportedState,
  type RolloutDeviceState,
  ValidationError,
} from '@edgeloop/shared';
import type { DesiredStatePublisher } from '../fleet/desired-state.ts';
import { RANK, TOUCHED } from '../rollouts/device-states.ts';
import type { TrackedReport } from '../rollouts/rollout-tracker.ts';
import { agentErrorsSince, driveWaves, type WaveOps } from '../rollouts/wave-driver.ts';
import { assignWaves, initialWaves } from '../rollouts/waves.ts';
import type { AgentRolloutDeviceRecord, AgentRolloutRecord } from '../store/agent-version-store.ts';
import type { Store } from '../store/store.ts';
import { agentGates, deriveAgentState } from './agent-rollout-rules.ts';

export interface AgentRolloutEngine {
  create(request: CreateAgentRollout, now?: Date): Promise<AgentRollout>;
  get(rolloutId: string): Promise<AgentRollout>;
  list(): Promise<AgentRollout[]>;
  abort(rolloutId: string, reason?: string): Promise<AgentRollout>;
  onReportedState(deviceId: string, state: ReportedState, at: string): Promise<void>;
  /** The same for a batch of stored reports, in arrival order: one read finds the few that matter. */
  onReportedStates(reports: readonly TrackedReport[]): Promise<void>;
  tick(now?: Date): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

/** Whether a device's own report may move it out of `state` (the rest are final or the engine's). */
function moves(state: RolloutDeviceState): boolean {
  return state !== 'queued' && state !== 'rolled_back' && state !== 'active';
}

/** Reports only move a device forward, except that a failed one may still end active or back. */
function isForward(from: RolloutDeviceState, next: RolloutDeviceState): boolean {
  if (next === from) return false;
  if (from === 'failed') return next === 'active' || next === 'rolled_back';
  return (
    next === 'failed' ||
    next === 'rolled_back' ||
    from === 'timed_out' ||
    (RANK[next] ?? 0) > (RANK[from] ?? 0)
  );
}

export function createAgentRolloutEngine(deps: {
  store: Store;
  desired: DesiredStatePublisher;
  logger: Logger;
  tickMs: number;
  /** Whether this replica drives rollouts (cluster/leadership.ts); others only record them. */
  isLeader?: () => boolean;
}): AgentRolloutEngine {
  const { desired, logger: log } = deps;
  const store = deps.store;
  const rollouts = store.agentVersions;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();

  async function view(rolloutId: string): Promise<AgentRollout> {
    const r = await rollouts.getRollout(rolloutId);
    if (!r) throw new NotFoundError(`agent rollout '${rolloutId}' not found`);
    const devices = await rollouts.rolloutDevices(rolloutId);
    const counts: Record<string, number> = {};
    for (const d of devices) counts[d.state] = (counts[d.state] ?? 0) + 1;
    return {
      ...r,
      counts,
      devices: devices.map(({ rolloutId: _r, notifiedAt: _n, ...d }) => d),
    };
  }

  async function plan(request: CreateAgentRollout, now: Date): Promise<string> {
    if ((await rollouts.bundlesOf(request.agentVersion)).length === 0)
      throw new NotFoundError(`agent version ${request.agentVersion} is not published`);
    const ids = await store.devices.resolveTarget(request.target);
    if (ids.length === 0) throw new ValidationError('the rollout target matches no devices');
    const busy = new Set<string>();
    for (const live of await rollouts.listLiveRollouts())
      for (const d of await rollouts.rolloutDevices(live.rolloutId)) busy.add(d.deviceId);
    const clash = ids.filter((id) => busy.has(id));
    if (clash.length > 0)
      throw new ConflictError(`devices already in a live agent rollout: ${clash.slice(0, 10).join(', ')}`);
    const devices = [];
    for (const id of ids) devices.push((await store.devices.get(id))!);
    // Online devices first: the canary answers within the soak time.
    devices.sort((a, b) => Number(b.online) - Number(a.online) || a.deviceId.localeCompare(b.deviceId));
    const waveOf = assignWaves(
      devices.map((d) => d.deviceId),
      request.strategy.waves,
    );
    const at = now.toISOString();
    const rolloutId = `arol-${randomUUID()}`;
    await rollouts.createRollout(
      {
        rolloutId,
        agentVersion: request.agentVersion,
        target: request.target,
        strategy: request.strategy,
        state: 'running',
        currentWave: 0,
        waves: initialWaves(request.strategy.waves, devices.length, at),
        reason: null,
        createdAt: at,
        updatedAt: at,
      },
      devices.map((d, i) => ({
        rolloutId,
        deviceId: d.deviceId,
        wave: waveOf[i],
        state: 'queued' as const,
        previousVersion: d.agentVersion,
        reason: 'waiting for its wave',
        notifiedAt: null,
        updatedAt: at,
        history: [],
      })),
    );
    return rolloutId;
  }

  async function abortNow(r: AgentRolloutRecord, reason: string, now: Date): Promise<void> {
    const at = now.toISOString();
    const touched = (await rollouts.rolloutDevices(r.rolloutId)).filter((d) => TOUCHED.has(d.state));
    const back: string[] = [];
    for (const d of touched) {
      const previous = d.previousVersion;
      // Only a published version can be ordered back; otherwise the device keeps what it runs
      // (a reverted device already runs its previous agent).
      if (previous && (await rollouts.bundlesOf(previous)).length > 0) {
        await rollouts.setDesired([d.deviceId], previous, true, at);
        await rollouts.transition(
          r.rolloutId,
          [d.deviceId],
          'rolling_back',
          `back to agent ${previous}: ${reason}`,
          at,
        );
      } else {
        await rollouts.setDesired([d.deviceId], null, false, at);
        await rollouts.transition(
          r.rolloutId,
          [d.deviceId],
          'rolled_back',
          'previous agent version not published; keeps what it runs',
          at,
        );
      }
      back.push(d.deviceId);
    }
    // Devices not told yet are let go: their desired agent version was never changed.
    await rollouts.updateRollout(r.rolloutId, { state: 'aborted', reason }, at);
    log.warn({ rolloutId: r.rolloutId, reason, devices: back.length }, 'agent rollout aborted');
    await desired.publish(back);
  }

  function drive(r: AgentRolloutRecord, now: Date): Promise<boolean> {
    const ops: WaveOps<AgentRolloutDeviceRecord> = {
      kind: 'agent rollout',
      failedAs: 'failed their self-update',
      waves: rollouts.waves,
      devices: () => rollouts.rolloutDevices(r.rolloutId),
      transition: (ids, state, reason, at) => rollouts.transition(r.rolloutId, ids, state, reason, at),
      async notify(ids, at) {
        await rollouts.setDesired(ids, r.agentVersion, false, at);
        await rollouts.transition(
          r.rolloutId,
          ids,
          'notified',
          `desired agent ${r.agentVersion} published`,
          at,
          true,
        );
        await desired.publish(ids);
      },
      update: (patch, at) => rollouts.updateRollout(r.rolloutId, patch, at),
      abort: (reason, waves) => abortNow({ ...r, waves }, reason, now),
      gates: async (waveDevices, wave) =>
        agentGates(
          waveDevices,
          r,
          await agentErrorsSince(
            store,
            waveDevices.map((d) => d.deviceId),
            wave.startedAt,
          ),
        ),
    };
    return driveWaves(r, ops, now, log);
  }

  async function tickOnce(now: Date): Promise<void> {
    for (const r of await rollouts.listLiveRollouts()) {
      if (r.state !== 'running') continue;
      try {
        await drive(r, now);
      } catch (err) {
        // A loop boundary: one rollout's trouble must not stop the others.
        log.error({ err, rolloutId: r.rolloutId }, 'driving agent rollout failed');
      }
    }
  }

  const engine: AgentRolloutEngine = {
    async create(request, now = new Date()) {
      const rolloutId = await plan(request, now);
      log.info({ rolloutId, agentVersion: request.agentVersion }, 'agent rollout created');
      if (deps.isLeader?.() ?? true) await engine.tick(now);
      return view(rolloutId);
    },
    get: (rolloutId) => view(rolloutId),
    async list() {
      const out = [];
      for (const r of await rollouts.listRollouts()) out.push(await view(r.rolloutId));
      return out;
    },
    async abort(rolloutId, reason = 'aborted by an operator') {
      const r = await rollouts.getRollout(rolloutId);
      if (!r) throw new NotFoundError(`agent rollout '${rolloutId}' not found`);
      if (r.state !== 'running' && r.state !== 'paused')
        throw new ConflictError(`agent rollout is already ${r.state}`);
      await abortNow(r, reason, new Date());
      return view(rolloutId);
    },
    async onReportedState(deviceId, state, at) {
      for (const entry of await rollouts.liveEntriesOf(deviceId)) {
        const r = await rollouts.getRollout(entry.rolloutId);
        if (!r) continue;
        // Only from the state read: another replica (recording a newer report) or the leader
        // (timing the device out) may have moved it meanwhile; then decide again from the store.
        let current: AgentRolloutDeviceRecord | undefined = entry;
        for (let attempt = 0; current && attempt < 3; attempt++) {
          const from = current.state;
          const next = moves(from) ? deriveAgentState(state, current, r.agentVersion) : null;
          if (!next || !isForward(from, next.next)) break;
          if (await rollouts.advance(entry.rolloutId, deviceId, from, next.next, next.reason, at)) break;
          current = (await rollouts.liveEntriesOf(deviceId)).find((e) => e.rolloutId === entry.rolloutId);
        }
      }
    },
    async onReportedStates(reports) {
      if (reports.length === 0) return;
      const live = await rollouts.liveDevicesAmong(reports.map((r) => r.deviceId));
      for (const r of reports) {
        if (live.has(r.deviceId)) await engine.onReportedState(r.deviceId, r.state, r.receivedAt);
      }
    },
    tick(now = new Date()) {
      // One tick at a time: a caller arriving mid-tick waits for it, then runs its own.
      running = running.catch(() => {}).then(() => tickOnce(now));
      return running;
    },
    start() {
      timer ??= setInterval(() => {
        engine.tick().catch((err) => log.error({ err }, 'agent rollout tick failed'));
      }, deps.tickMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await running.catch(() => {});
    },
  };
  return engine;
}
