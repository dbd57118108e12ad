/**
 * Drives rollouts from the database, so a restarted control plane carries on where it stopped.
 * Each tick, per running rollout: time out slow devices, apply the abort criteria, notify queued
 * devices of the current wave (at most maxNotifiedPerMinute in any 60 s), start the soak once
 * every device of the wave finished, and when the soak is over run the health gates: pass → next
 * wave, fail → pause or abort. Abort (and manual rollback) orders every touched device back to
 * its previous version through a rollback manifest signed for the purpose.
 */
import {
  ConflictError,
  type CreateRollout,
  type Logger,
  NotFoundError,
  type ReportedState,
  type Rollout,
} from '@edgeloop/shared';
import type { Convergence } from '../fleet/convergence.ts';
import type { DesiredStatePublisher } from '../fleet/desired-state.ts';
import type { ManifestSigner } from '../models/manifest-signer.ts';
import type { RolloutDeviceRecord, RolloutRecord } from '../store/rollout-store.ts';
import type { Store } from '../store/store.ts';
import { TOUCHED } from './device-states.ts';
import { evaluateGates } from './health-gates.ts';
import { planRollout } from './rollout-plan.ts';
import { type TrackedReport, trackReportedStates } from './rollout-tracker.ts';
import { rolloutView } from './rollout-view.ts';
import { agentErrorsSince, driveWaves, type WaveOps } from './wave-driver.ts';

const IDLE_DRIVE_MS = 1_000;

export interface RolloutEngineDeps {
  store: Store;
  desired: DesiredStatePublisher;
  signer: ManifestSigner;
  /** Completed rollouts set their group/tag/fleet target through it; rollbacks revert it. */
  convergence: Convergence;
  logger: Logger;
  tickMs: number;
  /**
   * Whether this replica drives rollouts (the leader, cluster/leadership.ts). Others record what
   * operators ask and leave driving to the leader, which looks at every running rollout each tick.
   */
  isLeader?: () => boolean;
}

export interface RolloutEngine {
  create(request: CreateRollout, now?: Date): Promise<Rollout>;
  get(rolloutId: string): Promise<Rollout>;
  list(): Promise<Rollout[]>;
  pause(rolloutId: string, reason?: string): Promise<Rollout>;
  resume(rolloutId: string, reason?: string): Promise<Rollout>;
  abort(rolloutId: string, reason?: string): Promise<Rollout>;
  /** Like abort, and also for a completed rollout: every updated device goes back. */
  rollback(rolloutId: string, reason?: string): Promise<Rollout>;
  onReportedState(deviceId: string, state: ReportedState, receivedAt: string): Promise<void>;
  /** The same for a batch of stored reports, in arrival order (what ingestion hands over). */
  onReportedStates(reports: readonly TrackedReport[]): Promise<void>;
  tick(now?: Date): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

export function createRolloutEngine(deps: RolloutEngineDeps): RolloutEngine {
  const { store, desired, signer, convergence } = deps;
  const rollouts = store.rollouts;
  const log = deps.logger;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  // A rollout is driven when a device of it changed state, or else once a second (timeouts and
  // soak ends are the only time-driven events): a big fleet's rollout is not re-read every tick.
  const dirty = new Set<string>();
  const leads = deps.isLeader ?? (() => true);
  const lastDriven = new Map<string, number>();

  async function find(rolloutId: string): Promise<RolloutRecord> {
    const record = await rollouts.get(rolloutId);
    if (!record) throw new NotFoundError(`rollout '${rolloutId}' not found`);
    return record;
  }

  async function view(rolloutId: string): Promise<Rollout> {
    return (await rolloutView(rollouts, rolloutId))!;
  }

  async function abortNow(r: RolloutRecord, reason: string, now: Date, alsoCompleted = false): Promise<void> {
    if (r.state === 'aborted' || (r.state === 'completed' && !alsoCompleted)) return;
    const at = now.toISOString();
    const touched = (await rollouts.devices(r.rolloutId)).filter((d) => TOUCHED.has(d.state));
    // A device pinned since (possible once the rollout completed) keeps its pin.
    const pinned = new Set(
      (await store.devices.getMany(touched.map((d) => d.deviceId)))
        .filter((d) => d.pin)
        .map((d) => d.deviceId),
    );
    if (pinned.size > 0)
      await rollouts.transitionMany(r.rolloutId, [...pinned], 'skipped', 'pinned; not rolled back', at);
    const devices = touched.filter((d) => !pinned.has(d.deviceId));
    const byPrevious = new Map<number | null, string[]>();
    for (const d of devices)
      byPrevious.set(d.previousVersion, [...(byPrevious.get(d.previousVersion) ?? []), d.deviceId]);
    for (const [previous, ids] of byPrevious) {
      if (previous === null) {
        // Nothing to go back to: the device keeps what it runs.
        await rollouts.transitionMany(
          r.rolloutId,
          ids,
          'rolled_back',
          'no previous version to return to',
          at,
        );
        continue;
      }
      const manifestPath = await signer.orderRollback(previous, `rollout:${r.rolloutId}`, now);
      await store.devices.setDesiredVersion(ids, previous, at, manifestPath);
      await rollouts.transitionMany(
        r.rolloutId,
        ids,
        'rolling_back',
        `rollback to version ${previous}: ${reason}`,
        at,
      );
    }
    await rollouts.update(r.rolloutId, { state: 'aborted', reason }, at);
    log.warn({ rolloutId: r.rolloutId, reason, devices: devices.length }, 'rollout aborted; rolling back');
    await desired.publish(devices.map((d) => d.deviceId));
  }

  /**
   * A completed rollout to a group, tag set or the whole fleet makes its version that selector's
   * target, so devices that enroll or move in later get it too; devices of the rollout that moved
   * elsewhere meanwhile follow their new target. A rollout to explicit device ids sets no target.
   */
  async function completed(r: RolloutRecord, now: Date): Promise<void> {
    if ('deviceIds' in r.target) return;
    await convergence.setTarget(r.target, r.modelVersion, r.rolloutId, now);
    await convergence.converge(
      (await rollouts.devices(r.rolloutId)).map((d) => d.deviceId),
      now,
    );
  }

  function drive(r: RolloutRecord, now: Date): Promise<boolean> {
    const ops: WaveOps<RolloutDeviceRecord> = {
      kind: 'rollout',
      failedAs: 'failed',
      waves: rollouts.waves,
      devices: () => rollouts.devices(r.rolloutId),
      transition: (ids, state, reason, at) => rollouts.transitionMany(r.rolloutId, ids, state, reason, at),
      async notify(ids, at) {
        await store.devices.setDesiredVersion(ids, r.modelVersion, at, null);
        await rollouts.transitionMany(
          r.rolloutId,
          ids,
          'notified',
          `desired version ${r.modelVersion} published`,
          at,
          true,
        );
        await desired.publish(ids);
      },
      update: (patch, at) => rollouts.update(r.rolloutId, patch, at),
      abort: (reason, waves) => abortNow({ ...r, waves }, reason, now),
      gates: async (waveDevices, wave) =>
        evaluateGates({
          devices: waveDevices,
          agentErrors: await agentErrorsSince(
            store,
            waveDevices.map((d) => d.deviceId),
            wave.startedAt,
          ),
          gates: r.strategy.gates,
          countTimeouts: r.strategy.abort.countTimeouts,
        }),
      completed: () => completed(r, now),
    };
    return driveWaves(r, ops, now, log);
  }

  async function tickOnce(now: Date): Promise<void> {
    for (const r of await rollouts.listLive()) {
      if (r.state !== 'running') continue;
      const wave = r.waves[r.currentWave];
      const soakOver = wave?.state === 'soaking' && now.getTime() >= Date.parse(wave.soakUntil!);
      const due = soakOver || now.getTime() - (lastDriven.get(r.rolloutId) ?? 0) >= IDLE_DRIVE_MS;
      if (!dirty.has(r.rolloutId) && !due) continue;
      dirty.delete(r.rolloutId);
      lastDriven.set(r.rolloutId, now.getTime());
      try {
        if (await drive(r, now)) dirty.add(r.rolloutId);
      } catch (err) {
        // The tick is a loop boundary: one rollout's trouble must not stop the others.
        log.error({ err, rolloutId: r.rolloutId }, 'driving rollout failed');
      }
    }
  }

  const engine: RolloutEngine = {
    async create(request, now = new Date()) {
      // Planned and stored in one transaction: two rollouts racing cannot both claim a device.
      const { record, devices } = await store.transaction(async (tx) => {
        const plan = await planRollout(tx, request, now);
        await tx.rollouts.create(plan.record, plan.devices);
        return plan;
      });
      const { rolloutId } = record;
      const sizes = record.waves.map((w) => w.devices);
      log.info(
        { rolloutId, modelVersion: request.modelVersion, devices: devices.length, waves: sizes },
        'rollout created',
      );
      dirty.add(rolloutId);
      if (leads()) await engine.tick(now);
      return view(rolloutId);
    },
    get: async (rolloutId) => {
      await find(rolloutId);
      return view(rolloutId);
    },
    list: async () => Promise.all((await rollouts.list()).map((r) => view(r.rolloutId))),
    async pause(rolloutId, reason = 'paused by an operator') {
      const r = await find(rolloutId);
      if (r.state !== 'running') throw new ConflictError(`rollout is ${r.state}, not running`);
      await rollouts.update(rolloutId, { state: 'paused', reason }, new Date().toISOString());
      return view(rolloutId);
    },
    async resume(rolloutId, reason = 'resumed by an operator') {
      const r = await find(rolloutId);
      if (r.state !== 'paused') throw new ConflictError(`rollout is ${r.state}, not paused`);
      const waves = r.waves.map((w) => ({ ...w }));
      const wave = waves[r.currentWave];
      const patch: Parameters<typeof rollouts.update>[1] = { state: 'running', reason, waves };
      // Resuming after failed gates is the operator's override: the next wave starts.
      if (wave.state === 'failed') {
        const next = waves[r.currentWave + 1];
        if (next) {
          next.state = 'rolling';
          next.startedAt = new Date().toISOString();
          patch.currentWave = r.currentWave + 1;
        } else {
          patch.state = 'completed';
        }
      }
      const now = new Date();
      await rollouts.update(rolloutId, patch, now.toISOString());
      if (patch.state === 'completed') await completed(r, now);
      dirty.add(rolloutId);
      if (leads()) await engine.tick();
      return view(rolloutId);
    },
    async abort(rolloutId, reason = 'aborted by an operator') {
      const r = await find(rolloutId);
      if (r.state !== 'running' && r.state !== 'paused')
        throw new ConflictError(`rollout is already ${r.state}`);
      await abortNow(r, reason, new Date());
      return view(rolloutId);
    },
    async rollback(rolloutId, reason = 'rolled back by an operator') {
      const r = await find(rolloutId);
      if (r.state === 'aborted') throw new ConflictError('rollout is already aborted');
      const now = new Date();
      await abortNow(r, reason, now, true);
      // The target it set goes back too; its own devices are already on their way back.
      if (r.state === 'completed' && !('deviceIds' in r.target)) {
        const own = (await rollouts.devices(rolloutId)).map((d) => d.deviceId);
        await convergence.revertTarget(r.target, rolloutId, own, now);
      }
      return view(rolloutId);
    },
    onReportedState(deviceId, state, receivedAt) {
      return engine.onReportedStates([{ deviceId, state, receivedAt }]);
    },
    async onReportedStates(reports) {
      for (const id of await trackReportedStates({ rollouts, logger: log }, reports)) dirty.add(id);
    },
    tick(now = new Date()) {
      // One tick at a time; a caller arriving mid-tick waits for it and then runs its own.
      const previous = running ?? Promise.resolve();
      const next = previous.then(() => tickOnce(now));
      // `running` only marks the tick in progress and never rejects: the caller gets the error
      // from `next` (a database gone mid-tick would otherwise be an unhandled rejection).
      const settled: Promise<void> = next
        .catch(() => {})
        .finally(() => {
          if (running === settled) running = null;
        });
      running = settled;
      return next;
    },
    start() {
      timer ??= setInterval(() => {
        if (!running) engine.tick().catch((err) => log.error({ err }, 'rollout tick failed'));
      }, deps.tickMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await running;
    },
  };
  return engine;
}
