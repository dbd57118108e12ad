/**
 * One drive of a staged rollout, the same for model and agent rollouts: time out slow devices,
 * apply the abort criteria, notify the current wave's queued devices (at most maxNotifiedPerMinute
 * in any 60 s), start the soak once every device of the wave finished, and when the soak is over
 * run the gates: pass → next wave (or completed), fail → pause or abort. What differs between the
 * two kinds (how a device is told, how an abort sends devices back, which gates apply) comes in
 * as `WaveOps`, so the wave arithmetic and its timing rules are written once.
 */
import type { GateCheck, Logger, RolloutDeviceState, RolloutWaveStatus } from '@edgeloop/shared';
import type { Store } from '../store/store.ts';
import type { WaveReads } from '../store/wave-queries.ts';
import { FINISHED, IN_FLIGHT } from './device-states.ts';

export interface WaveDevice {
  deviceId: string;
  wave: number;
  state: RolloutDeviceState;
  notifiedAt: string | null;
}

export interface WaveRollout {
  rolloutId: string;
  currentWave: number;
  waves: RolloutWaveStatus[];
  strategy: {
    deviceTimeoutSeconds: number;
    maxNotifiedPerMinute: number;
    soakSeconds: number;
    abort: { minFinished: number; failurePercent: number; countTimeouts: boolean };
    gates: { onFailure: 'pause' | 'abort' };
  };
}

export interface WavePatch {
  waves?: RolloutWaveStatus[];
  currentWave?: number;
  state?: 'paused' | 'completed';
  reason?: string;
}

export interface WaveOps<D extends WaveDevice> {
  /** 'rollout' or 'agent rollout', for logs. */
  kind: string;
  /** How the abort reason says what went wrong, e.g. 'failed' or 'failed their self-update'. */
  failedAs: string;
  /** Counts and the device ids a drive acts on, read in SQL (a wave can hold 10,000 devices). */
  waves: WaveReads;
  /** Every device's entry: read only when a wave's gates run. */
  devices(): Promise<D[]>;
  transition(deviceIds: string[], state: RolloutDeviceState, reason: string, at: string): Promise<void>;
  /** Tell these devices of the new version: desired state set, marked notified, published. */
  notify(deviceIds: string[], at: string): Promise<void>;
  update(patch: WavePatch, at: string): Promise<void>;
  abort(reason: string, waves: RolloutWaveStatus[]): Promise<void>;
  /** The checks between waves for the soaked wave's devices. */
  gates(waveDevices: D[], wave: RolloutWaveStatus): Promise<GateCheck[]>;
  /** After the last wave passed. */
  completed?(): Promise<void>;
}

/**
 * Drives `r` once. Returns true when it changed something another drive should follow up soon
 * (a soak started, the next wave opened) rather than at the idle pace.
 */
export async function driveWaves<D extends WaveDevice>(
  r: WaveRollout,
  ops: WaveOps<D>,
  now: Date,
  log: Logger,
): Promise<boolean> {
  const at = now.toISOString();
  const { strategy } = r;
  const windowStart = new Date(now.getTime() - 60_000).toISOString();
  const summarize = () => ops.waves.summary(r.rolloutId, r.currentWave, windowStart);
  let summary = await summarize();
  const count = (s: RolloutDeviceState) => summary.counts[s] ?? 0;

  const inFlight = [...IN_FLIGHT];
  if (inFlight.some((s) => count(s) > 0)) {
    const timeoutMs = strategy.deviceTimeoutSeconds * 1000;
    const late = await ops.waves.notifiedBefore(
      r.rolloutId,
      inFlight,
      new Date(now.getTime() - timeoutMs).toISOString(),
    );
    if (late.length > 0) {
      await ops.transition(
        late,
        'timed_out',
        `not active ${strategy.deviceTimeoutSeconds}s after notification`,
        at,
      );
      summary = await summarize();
    }
  }

  const failures = count('failed') + (strategy.abort.countTimeouts ? count('timed_out') : 0);
  const finished = count('active') + failures;
  if (finished >= strategy.abort.minFinished && (failures / finished) * 100 > strategy.abort.failurePercent) {
    await ops.abort(
      `${failures} of ${finished} finished devices ${ops.failedAs} (limit ${strategy.abort.failurePercent}%)`,
      r.waves,
    );
    return false;
  }

  if (count('queued') > 0) {
    const batch = await ops.waves.queued(
      r.rolloutId,
      r.currentWave,
      strategy.maxNotifiedPerMinute - summary.notifiedSince,
    );
    if (batch.length > 0) {
      await ops.notify(batch, at);
      log.info({ rolloutId: r.rolloutId, wave: r.currentWave, devices: batch.length }, 'devices notified');
    }
  }

  const waves: RolloutWaveStatus[] = r.waves.map((w) => ({ ...w }));
  const wave = waves[r.currentWave];
  // Devices pinned away during the rollout are no longer its business.
  const inWave = Object.entries(summary.waveCounts).filter(([state]) => state !== 'skipped') as [
    RolloutDeviceState,
    number,
  ][];
  const waveSize = inWave.reduce((n, [, c]) => n + c, 0);
  let again = false;
  if (wave.state === 'rolling' && inWave.every(([state, c]) => c === 0 || FINISHED.has(state))) {
    wave.state = 'soaking';
    // An empty wave has nothing to watch.
    const soakMs = waveSize === 0 ? 0 : strategy.soakSeconds * 1000;
    wave.soakUntil = new Date(now.getTime() + soakMs).toISOString();
    await ops.update({ waves }, at);
    again = true;
  }
  if (wave.state !== 'soaking' || now.getTime() < Date.parse(wave.soakUntil!)) return again;

  const waveDevices =
    waveSize === 0
      ? []
      : (await ops.devices()).filter((d) => d.wave === r.currentWave && d.state !== 'skipped');
  const checks = waveDevices.length === 0 ? [] : await ops.gates(waveDevices, wave);
  wave.checks = checks;
  const failed = checks.filter((c) => !c.passed);
  if (failed.length === 0) {
    wave.state = 'passed';
    const next = waves[r.currentWave + 1];
    if (!next) {
      await ops.update({ waves, state: 'completed', reason: 'every wave passed its gates' }, at);
      log.info({ rolloutId: r.rolloutId }, `${ops.kind} completed`);
      await ops.completed?.();
      return false;
    }
    next.state = 'rolling';
    next.startedAt = at;
    await ops.update({ waves, currentWave: r.currentWave + 1 }, at);
    log.info({ rolloutId: r.rolloutId, wave: r.currentWave + 1 }, 'wave passed; next wave');
    return true;
  }
  wave.state = 'failed';
  const reason = `wave ${r.currentWave} failed its gates: ${failed.map((c) => `${c.name} (${c.detail})`).join('; ')}`;
  await ops.update({ waves }, at);
  if (strategy.gates.onFailure === 'pause') {
    await ops.update({ state: 'paused', reason }, at);
    log.warn({ rolloutId: r.rolloutId, reason }, `${ops.kind} paused by its gates`);
  } else {
    await ops.abort(reason, waves);
  }
  return false;
}

/** Agent and camera errors the devices reported since the wave started (a gate input). */
export async function agentErrorsSince(
  store: Store,
  deviceIds: readonly string[],
  since: string | null,
): Promise<number> {
  const from = since ? Date.parse(since) : 0;
  // One read for the wave (its last may hold thousands of devices), each device's newest 200.
  const errors = await store.events.listOfTypes(deviceIds, ['agent-error', 'camera-error'], 200);
  return errors.filter((e) => Date.parse(e.at) >= from).length;
}
