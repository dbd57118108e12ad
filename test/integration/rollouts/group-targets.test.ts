/**
 * Group and tag targets that stay true, with the real control plane, its broker and real agents:
 * a completed rollout to a group makes its version the group's target, so a device that enrolls
 * into the group later runs it without a new rollout; a device moved to another group converges
 * to that group's version (counted as converging until it reports it), also downwards through a
 * rollback manifest; a pinned device stays pinned through a group rollout and returns to the
 * group's target when unpinned; a pin takes a device out of a rollout in progress; rolling back a
 * completed group rollout puts the group's target back; a wiped device that enrolls again (with a
 * re-enrollment token) is brought to its group's version. The tests run in order on one fleet.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { apiRoutes, type DeviceSummary, PROTOCOL_VERSION, type Rollout } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { deviceCommand } from '../../../cli/commands/device.ts';
import { runCommand } from '../../../cli/options/run-command.ts';
import { createToken, jsonBody } from '../control-plane/helpers.ts';
import { type Fleet, fastStrategy, fleetModel, startFleet, waitUntil } from './fleet.ts';

let fleet: Fleet;
const [A, B, C] = ['cam-00', 'cam-01', 'cam-02'];
const LATE = 'cam-03';

const move = (id: string, group: string) =>
  fleet.api.call(apiRoutes.updateDevice, { params: { id }, body: { protocol: PROTOCOL_VERSION, group } });
const detail = (id: string) => fleet.api.call(apiRoutes.getDevice, { params: { id } });
const targets = async () => (await fleet.api.call(apiRoutes.listFleetTargets)).targets;
const fleetCounts = async () => (await fleet.api.call(apiRoutes.getFleet, { query: {} })).counts;

async function runs(id: string, version: number): Promise<void> {
  await waitUntil(
    async () => {
      const r = await fleet.reported(id);
      return r.version === version && r.status === 'running';
    },
    `${id} running version ${version}`,
    30_000,
  );
}

async function rolloutToGroup(version: number, group: string): Promise<Rollout> {
  const created = await fleet.api.createRollout({
    modelVersion: version,
    target: { group },
    strategy: fastStrategy({ waves: [{ percent: 100 }], soakSeconds: 0.5 }),
  });
  return fleet.rolloutUntil(created.rolloutId, (r) => r.state === 'completed', `v${version} to ${group}`);
}

async function cli(...args: string[]): Promise<string> {
  const out: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out.push(String(chunk));
    return true;
  });
  try {
    const code = await runCommand(deviceCommand, [
      ...args,
      ...['--control-plane', fleet.t.cp.httpUrl, '--admin-token', fleet.t.cp.adminToken],
    ]);
    expect(code).toBe(0);
  } finally {
    spy.mockRestore();
  }
  return out.join('');
}

beforeAll(async () => {
  fleet = await startFleet(3);
  for (const v of [1, 2, 3, 4]) await fleet.publish(v, fleetModel('confident', v));
  await move(A, 'dock');
  await move(B, 'dock');
  await move(C, 'lobby');
}, 60_000);

afterAll(async () => {
  await fleet?.close();
});

describe('group targets with real agents', () => {
  it('runs the group version on a device enrolled after a completed rollout, without a new rollout', async () => {
    const dock = await rolloutToGroup(1, 'dock');
    await rolloutToGroup(2, 'lobby');
    expect(await targets()).toEqual([
      expect.objectContaining({ selector: { group: 'dock' }, modelVersion: 1, rolloutId: dock.rolloutId }),
      expect.objectContaining({ selector: { group: 'lobby' }, modelVersion: 2 }),
    ]);
    const rolloutsBefore = (await fleet.api.listRollouts()).length;

    await fleet.addAgent(LATE, 'dock');
    await runs(LATE, 1);
    expect((await fleet.api.listRollouts()).length).toBe(rolloutsBefore);
    const late = await detail(LATE);
    expect(late).toMatchObject({ group: 'dock', desiredVersion: 1, converging: false, pin: null });
    expect(late.governedBy).toEqual({
      source: 'target',
      modelVersion: 1,
      rolloutId: null,
      selector: { group: 'dock' },
    });
    expect((await fleet.reported(C)).version).toBe(2);
  });

  it('converges a device moved between groups, up and down, counted as converging until it reports', async () => {
    await fleet.stopAgent(B);
    await waitUntil(async () => (await fleet.t.cp.store.devices.get(B))?.online === false, `${B} offline`);
    const moved = await move(B, 'lobby');
    expect(moved).toMatchObject({ group: 'lobby', desiredVersion: 2, reportedVersion: 1, converging: true });
    expect((await fleetCounts()).bySync.converging).toBe(1);

    await fleet.startAgent(B);
    await runs(B, 2);
    expect((await detail(B)).converging).toBe(false);

    // Back to the dock: a lower version, sent through a rollback manifest the agent accepts.
    const back: DeviceSummary = await move(B, 'dock');
    expect(back).toMatchObject({ desiredVersion: 1, converging: true });
    expect((await detail(B)).desiredManifestPath).toContain('rollback-manifest');
    await runs(B, 1);
    expect((await fleetCounts()).bySync.converging ?? 0).toBe(0);
  });

  it('keeps a pinned device pinned through a group rollout, and unpinning returns it to the target', async () => {
    const pinned = await cli('pin', A, '--model-version', '1', '--reason', 'field trial', '--actor', 'alice');
    expect(pinned).toContain(`${A}  dock`);
    expect(pinned).toContain('pinned to v1 by alice (field trial)');

    const done = await rolloutToGroup(3, 'dock');
    expect(done.devices.map((d) => d.deviceId).sort()).toEqual([B, LATE]);
    for (const id of [B, LATE]) expect((await fleet.reported(id)).version).toBe(3);
    expect((await fleet.reported(A)).version).toBe(1);
    const a = await detail(A);
    expect(a).toMatchObject({
      desiredVersion: 1,
      pin: { modelVersion: 1, pinnedBy: 'alice', reason: 'field trial' },
    });
    expect(a.governedBy.source).toBe('pin');
    expect((await fleetCounts()).pinned).toBe(1);
    expect(await cli('targets')).toContain(`group dock  v3  set ${done.updatedAt.slice(0, 4)}`);
    expect(await cli('list')).toContain(`${A}  dock  runs v1  online, pinned to v1 by alice`);

    const unpinned = await cli('unpin', A, '--json');
    expect(JSON.parse(unpinned)).toMatchObject({ pin: null, desiredVersion: 3, converging: true });
    await runs(A, 3);
  });

  it('takes a device pinned during a rollout out of it: skipped, and not rolled back on abort', async () => {
    const created = await fleet.api.createRollout({
      modelVersion: 4,
      target: { group: 'dock' },
      strategy: fastStrategy({ waves: [{ devices: 1 }, { percent: 100 }], soakSeconds: 60 }),
    });
    const canary = created.devices.find((d) => d.wave === 0)!.deviceId;
    const later = created.devices.find((d) => d.wave === 1)!.deviceId;
    await fleet.rolloutUntil(created.rolloutId, (r) => r.waves[0].state === 'soaking', 'canary soaking');

    await fleet.api.call(apiRoutes.pinDevice, {
      params: { id: later },
      body: { protocol: PROTOCOL_VERSION, modelVersion: 2 },
    });
    const r = await fleet.api.getRollout(created.rolloutId);
    expect(r.devices.find((d) => d.deviceId === later)).toMatchObject({ state: 'skipped' });
    await runs(later, 2);

    await fleet.api.rolloutAction(created.rolloutId, 'abort', 'enough');
    await fleet.rolloutUntil(
      created.rolloutId,
      (x) => x.devices.find((d) => d.deviceId === canary)?.state === 'rolled_back',
      'canary rolled back',
    );
    await runs(canary, 3);
    // The pin held through the abort; the aborted rollout set no target.
    expect((await fleet.reported(later)).version).toBe(2);
    expect(
      (await targets()).find((t) => 'group' in t.selector && t.selector.group === 'dock')?.modelVersion,
    ).toBe(3);
    await fleet.api.call(apiRoutes.unpinDevice, { params: { id: later } });
    await runs(later, 3);
  });

  it('puts the group target back when its completed rollout is rolled back', async () => {
    const v3 = (await fleet.api.listRollouts()).find((r) => r.modelVersion === 3)!;
    await fleet.api.rolloutAction(v3.rolloutId, 'rollback', 'v3 misbehaves at night');
    const dock = (await targets()).find((t) => 'group' in t.selector && t.selector.group === 'dock');
    expect(dock).toMatchObject({ modelVersion: 1, rolloutId: null });
    // Its own devices go back to what they ran, and A (unpinned onto v3 later) follows the target.
    for (const id of [A, B, LATE]) await runs(id, 1);
    expect((await fleet.reported(C)).version).toBe(2);
  });

  it('brings a wiped device that enrolls again back to its group version', async () => {
    await fleet.stopAgent(LATE);
    await rm(join(fleet.t.dataDir, 'agents', LATE), { recursive: true, force: true });
    // An ordinary token cannot take an existing id; a re-enrollment token of its group can.
    const plain = await createToken(fleet.t, { group: 'dock' });
    const refused = await fleet.t.api(
      '/devices/enroll',
      jsonBody({ protocol: 1, token: plain, deviceId: LATE }),
    );
    expect(refused.status).toBe(409);

    await fleet.addAgent(LATE, 'dock', { reenroll: true });
    await runs(LATE, 1);
    const back = await detail(LATE);
    expect(back).toMatchObject({ group: 'dock', converging: false });
    expect(back.governedBy).toMatchObject({ source: 'target', selector: { group: 'dock' } });
  });
});
