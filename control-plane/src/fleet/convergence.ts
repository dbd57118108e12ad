/**
 * Keeps each device's desired state true to its group/tag targets and its pin: when a device
 * enrolls, moves (group or tags changed), is pinned or unpinned, or a target changes, its desired
 * version is resolved again (desired-version.ts) and, if it changed, stored and published. The
 * device then installs it through the usual verified path; until it reports that version the
 * fleet view counts it as converging. A lower version than the device runs goes out through a
 * rollback manifest, as a rollout's abort does, so the agent's downgrade guard accepts it.
 */
import { type DevicePin, type FleetSelector, type Logger, NotFoundError } from '@edgeloop/shared';
import type { ManifestSigner } from '../models/manifest-signer.ts';
import { HELD } from '../rollouts/device-states.ts';
import type { FleetTargetRecord } from '../store/fleet-target-store.ts';
import type { DeviceRecord, Store } from '../store/store.ts';
import type { DesiredStatePublisher } from './desired-state.ts';
import { type Resolution, resolveDesired } from './desired-version.ts';

export interface Convergence {
  resolve(device: DeviceRecord): Promise<Resolution>;
  /** Resolves these devices again; stores and publishes the ones whose version changed. */
  converge(deviceIds: readonly string[], now?: Date): Promise<string[]>;
  /** A completed rollout or an assignment set a selector's version: its devices follow. */
  setTarget(
    selector: FleetSelector,
    modelVersion: number,
    rolloutId: string | null,
    now?: Date,
  ): Promise<FleetTargetRecord>;
  /**
   * The rollout that set a selector's target was rolled back: the target returns to the version
   * it replaced (or is removed), and devices outside the rollout follow it.
   */
  revertTarget(
    selector: FleetSelector,
    rolloutId: string,
    except: readonly string[],
    now?: Date,
  ): Promise<void>;
  pin(deviceId: string, pin: Omit<DevicePin, 'pinnedAt'>, now?: Date): Promise<DeviceRecord>;
  unpin(deviceId: string, now?: Date): Promise<DeviceRecord>;
}

export function createConvergence(deps: {
  store: Store;
  desired: DesiredStatePublisher;
  signer: ManifestSigner;
  logger: Logger;
}): Convergence {
  const { store, desired, signer } = deps;
  const log = deps.logger;

  /**
   * The running or paused rollout that holds each device, in two reads (the live rollouts, then
   * every listed device's entries in them), not three per device: a rollout completing to the
   * whole fleet converges every device of it, and one statement per device held the leader's
   * rollout tick for over 25 s at 10,000 devices.
   */
  async function liveRolloutsOf(deviceIds: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    const live = new Set((await store.rollouts.listLive()).map((r) => r.rolloutId));
    if (live.size === 0 || deviceIds.length === 0) return found;
    // Every entry of a running or paused rollout is among them, newest rollout first per device.
    for (const [deviceId, entries] of await store.rollouts.trackedEntriesOf(deviceIds)) {
      const held = entries.find((e) => HELD.has(e.state) && live.has(e.rolloutId));
      if (held) found.set(deviceId, held.rolloutId);
    }
    return found;
  }

  async function resolve(device: DeviceRecord, targets?: FleetTargetRecord[]): Promise<Resolution> {
    return resolveDesired({
      device,
      liveRolloutId: (await liveRolloutsOf([device.deviceId])).get(device.deviceId) ?? null,
      targets: targets ?? (await store.targets.list()),
    });
  }

  async function mustGet(deviceId: string): Promise<DeviceRecord> {
    const device = await store.devices.get(deviceId);
    if (!device) throw new NotFoundError(`device '${deviceId}' not found`);
    return device;
  }

  const convergence: Convergence = {
    resolve: (device) => resolve(device),

    async converge(deviceIds, now = new Date()) {
      const at = now.toISOString();
      const targets = await store.targets.list();
      const rollbackPaths = new Map<number, string>();
      const changed: string[] = [];
      const devices = await store.devices.getMany([...new Set(deviceIds)]);
      const liveRollouts = await liveRolloutsOf(devices.map((d) => d.deviceId));
      for (const device of devices) {
        const id = device.deviceId;
        const r = resolveDesired({ device, liveRolloutId: liveRollouts.get(id) ?? null, targets });
        if (r.source !== 'pin' && r.source !== 'target') continue;
        if (r.modelVersion === device.desiredVersion) continue;
        // The agent refuses a lower version unless its manifest is signed as a rollback.
        const down = device.reportedVersion !== null && r.modelVersion < device.reportedVersion;
        let manifestPath: string | null = null;
        if (down) {
          manifestPath =
            rollbackPaths.get(r.modelVersion) ??
            (await signer.orderRollback(r.modelVersion, `change:${at}`, now));
          rollbackPaths.set(r.modelVersion, manifestPath);
        }
        await store.devices.setDesiredVersion([id], r.modelVersion, at, manifestPath);
        changed.push(id);
        log.info(
          { deviceId: id, from: device.desiredVersion, to: r.modelVersion, source: r.source },
          'device converging',
        );
      }
      if (changed.length > 0) await desired.publish(changed);
      return changed;
    },

    async setTarget(selector, modelVersion, rolloutId, now = new Date()) {
      const record = await store.targets.set(selector, modelVersion, rolloutId, now.toISOString());
      log.info({ selector: record.selector, modelVersion, rolloutId }, 'fleet target set');
      await convergence.converge(await store.devices.resolveTarget(selector), now);
      return record;
    },

    async revertTarget(selector, rolloutId, except, now = new Date()) {
      const current = await store.targets.get(selector);
      if (!current || current.rolloutId !== rolloutId) return;
      const previous =
        current.previousVersion === null
          ? null
          : {
              selector: current.selector,
              modelVersion: current.previousVersion,
              previousVersion: null,
              rolloutId: null,
              setAt: now.toISOString(),
            };
      await store.targets.restore(selector, previous);
      log.info(
        { selector, modelVersion: previous?.modelVersion ?? null, rolloutId },
        'fleet target reverted',
      );
      const skip = new Set(except);
      await convergence.converge(
        (await store.devices.resolveTarget(selector)).filter((id) => !skip.has(id)),
        now,
      );
    },

    async pin(deviceId, pin, now = new Date()) {
      await mustGet(deviceId);
      if (!(await store.models.get(pin.modelVersion))) {
        throw new NotFoundError(`model version ${pin.modelVersion} does not exist`);
      }
      const at = now.toISOString();
      await store.targets.setPin(deviceId, { ...pin, pinnedAt: at });
      // The pin outranks a rollout in progress: the rollout lets go of the device (and neither
      // its gates nor an abort count it any more).
      for (const entry of await store.rollouts.entriesOf(deviceId)) {
        const state = (await store.rollouts.get(entry.rolloutId))?.state;
        if ((state === 'running' || state === 'paused') && HELD.has(entry.state)) {
          await store.rollouts.transition(
            entry.rolloutId,
            deviceId,
            'skipped',
            `pinned to version ${pin.modelVersion} by ${pin.pinnedBy}`,
            at,
          );
        }
      }
      log.info({ deviceId, modelVersion: pin.modelVersion, by: pin.pinnedBy }, 'device pinned');
      await convergence.converge([deviceId], now);
      return mustGet(deviceId);
    },

    async unpin(deviceId, now = new Date()) {
      const device = await mustGet(deviceId);
      if (device.pin === null) return device;
      await store.targets.setPin(deviceId, null);
      log.info({ deviceId, was: device.pin.modelVersion }, 'device unpinned');
      await convergence.converge([deviceId], now);
      return mustGet(deviceId);
    },
  };
  return convergence;
}
