/**
 * Pins and group targets over the real HTTP API (no agents: what the control plane decides and
 * refuses): a pin is explicit and visible, a pinned device named in a rollout or an assignment is
 * refused, an assignment to a group sets the group's target and leaves the pinned device out, a
 * device enrolling later gets the target, and unpinning hands the device back to its target.
 */
import { ApiClient, apiRoutes, type EdgeloopError, PROTOCOL_VERSION } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { deviceCommand } from '../../../cli/commands/device.ts';
import { runCommand } from '../../../cli/options/run-command.ts';
import { testManifest } from '../../helpers/manifest-fixture.ts';
import { fleetModel } from '../rollouts/fleet.ts';
import { createToken, jsonBody, startTestControlPlane, type TestControlPlane } from './helpers.ts';

let t: TestControlPlane;
let api: ApiClient;

async function enrollInto(group: string, deviceId: string): Promise<void> {
  const token = await createToken(t, { group });
  const res = await t.api('/devices/enroll', jsonBody({ protocol: 1, token, deviceId }));
  expect(res.status).toBe(201);
}

const pin = (id: string, modelVersion: number, reason?: string) =>
  api.call(apiRoutes.pinDevice, {
    params: { id },
    body: { protocol: PROTOCOL_VERSION, modelVersion, reason },
  });
const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (err: EdgeloopError) => err.code,
  );

beforeAll(async () => {
  t = await startTestControlPlane();
  api = new ApiClient(t.cp.httpUrl, t.cp.adminToken, 'alice');
  for (const v of [1, 2]) {
    const model = fleetModel('confident', v);
    await api.publishModel(testManifest(model, { modelVersion: v }), new Map([['model.onnx', model]]));
  }
  await enrollInto('dock', 'cam-a');
  await enrollInto('dock', 'cam-b');
});
afterAll(async () => {
  await t.stop();
});

describe('pins and targets', () => {
  it('pins a device visibly, and refuses unknown versions and devices', async () => {
    expect(await codeOf(pin('cam-a', 9))).toBe('NOT_FOUND');
    expect(await codeOf(pin('cam-zz', 1))).toBe('NOT_FOUND');
    const pinned = await pin('cam-a', 1, 'lab trial');
    expect(pinned).toMatchObject({
      desiredVersion: 1,
      converging: true,
      pin: { modelVersion: 1, reason: 'lab trial', pinnedBy: 'alice' },
    });
    const detail = await api.call(apiRoutes.getDevice, { params: { id: 'cam-a' } });
    expect(detail.governedBy).toEqual({ source: 'pin', modelVersion: 1, rolloutId: null, selector: null });
  });

  it('refuses a rollout or an assignment that names a pinned device', async () => {
    const rollout = api.createRollout({ modelVersion: 2, target: { deviceIds: ['cam-a', 'cam-b'] } });
    expect(await codeOf(rollout)).toBe('CONFLICT');
    expect(await codeOf(api.assign(2, { deviceIds: ['cam-a'] }))).toBe('CONFLICT');
  });

  it('sets the group target on an assignment to the group, leaving the pinned device out', async () => {
    expect(await api.assign(2, { group: 'dock' })).toEqual(['cam-b']);
    const { targets } = await api.call(apiRoutes.listFleetTargets);
    expect(targets).toEqual([
      expect.objectContaining({
        selector: { group: 'dock' },
        modelVersion: 2,
        rolloutId: null,
        previousVersion: null,
      }),
    ]);
    expect((await t.cp.store.devices.get('cam-a'))?.desiredVersion).toBe(1);

    await enrollInto('dock', 'cam-c');
    const late = await api.call(apiRoutes.getDevice, { params: { id: 'cam-c' } });
    expect(late).toMatchObject({ desiredVersion: 2, converging: true });
    expect(late.governedBy).toMatchObject({ source: 'target', selector: { group: 'dock' } });
    // A group whose devices are all pinned has nothing to roll out to.
    await enrollInto('lab', 'cam-l');
    await pin('cam-l', 1);
    expect(await codeOf(api.createRollout({ modelVersion: 2, target: { group: 'lab' } }))).toBe(
      'VALIDATION_FAILED',
    );
  });

  it('leaves pinned devices out of a group rollout and hands an unpinned device back to its target', async () => {
    const r = await api.createRollout({ modelVersion: 2, target: { group: 'dock' } });
    expect(r.devices.map((d) => d.deviceId).sort()).toEqual(['cam-b', 'cam-c']);
    const unpinned = await api.call(apiRoutes.unpinDevice, { params: { id: 'cam-a' } });
    expect(unpinned).toMatchObject({ pin: null, desiredVersion: 2 });
    const page = await api.call(apiRoutes.getFleet, { query: {} });
    expect(page.counts.pinned).toBe(1); // cam-l
    expect(page.counts.bySync.converging).toBe(4);
  });

  it('moves a device and lists targets from the CLI', async () => {
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out.push(String(chunk));
      return true;
    });
    const connection = ['--control-plane', t.cp.httpUrl, '--admin-token', t.cp.adminToken];
    try {
      expect(
        await runCommand(deviceCommand, [
          'move',
          'cam-l',
          '--group',
          'dock',
          '--tags',
          'site-a',
          ...connection,
        ]),
      ).toBe(0);
      expect(await runCommand(deviceCommand, ['targets', ...connection])).toBe(0);
    } finally {
      spy.mockRestore();
    }
    // Still pinned after the move: the pin outranks its new group's target.
    expect(out[0]).toBe('cam-l  dock [site-a]  runs -  offline, pinned to v1 by alice, converging to v1\n');
    expect(out[1]).toMatch(/^group dock {2}v2 {2}set \S+ by an assignment\n$/);
  });
});
