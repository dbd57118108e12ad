/**
 * The sequence number of a device's signed desired state, over the real HTTP API and the real
 * embedded broker: it grows when that device's content changes and only then, however often the
 * fleet is republished. A device refuses a lower number (a replay), so a number handed out again
 * for unchanged content, or a stale one, would be visible to it.
 */
import {
  ApiClient,
  apiRoutes,
  type DesiredState,
  PROTOCOL_VERSION,
  routeUrl,
  topics,
  verifyDesiredState,
} from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testManifest } from '../../helpers/manifest-fixture.ts';
import { fleetModel } from '../rollouts/fleet.ts';
import {
  basicAuth,
  connectDevice,
  type Device,
  enroll,
  nextMessage,
  startTestControlPlane,
  type TestControlPlane,
} from './helpers.ts';

let t: TestControlPlane;
let api: ApiClient;
let a: Device;
let b: Device;

/** What the device gets over HTTP, checked as the agent checks it. */
async function overHttp(device: Device): Promise<DesiredState> {
  const res = await fetch(`${t.cp.httpUrl}${routeUrl(apiRoutes.getDesiredState)}`, {
    headers: { authorization: basicAuth(device.deviceId, device.secret) },
  });
  expect(res.status).toBe(200);
  return verifyDesiredState(await res.json(), {
    deviceId: device.deviceId,
    trustedKeys: [t.cp.signingPublicKey],
    lastSequence: 0,
  });
}

/** The retained copy a device gets when it (re)subscribes. */
async function retained(device: Device): Promise<DesiredState> {
  const client = await connectDevice(t.cp.mqttUrl, device);
  try {
    const message = nextMessage(client, topics.desired(device.deviceId));
    await client.subscribeAsync(topics.desired(device.deviceId), { qos: 1 });
    const { payload, retain } = await message;
    expect(retain).toBe(true);
    return verifyDesiredState(JSON.parse(payload.toString()), {
      deviceId: device.deviceId,
      trustedKeys: [t.cp.signingPublicKey],
      lastSequence: 0,
    });
  } finally {
    await client.endAsync();
  }
}

beforeAll(async () => {
  t = await startTestControlPlane();
  api = new ApiClient(t.cp.httpUrl, t.cp.adminToken, 'alice');
  for (const v of [1, 2]) {
    const model = fleetModel('confident', v);
    await api.publishModel(testManifest(model, { modelVersion: v }), new Map([['model.onnx', model]]));
  }
  a = await enroll(t, 'cam-a');
  b = await enroll(t, 'cam-b');
});
afterAll(async () => {
  await t?.stop();
});

describe('desired-state sequence numbers', () => {
  it('numbers a new state only for the device whose content changed, through fleet-wide republishes', async () => {
    const before = { a: await overHttp(a), b: await overHttp(b) };
    // Asking again changes nothing: the same number and issue time.
    expect(await overHttp(a)).toMatchObject({ sequence: before.a.sequence, issuedAt: before.a.issuedAt });

    await api.call(apiRoutes.pinDevice, {
      params: { id: 'cam-a' },
      body: { protocol: PROTOCOL_VERSION, modelVersion: 2 },
    });
    // Pointing an alias at a version republishes every device's desired state (cameras may name it).
    for (const v of [1, 2]) {
      await api.call(apiRoutes.setAlias, {
        params: { name: 'stable' },
        body: { protocol: PROTOCOL_VERSION, modelVersion: v },
      });
    }

    for (const state of [await overHttp(a), await retained(a)]) {
      expect(state).toMatchObject({ modelVersion: 2, sequence: before.a.sequence + 1 });
      expect(state.issuedAt > before.a.issuedAt).toBe(true);
    }
    for (const state of [await overHttp(b), await retained(b)]) {
      expect(state).toMatchObject({
        modelVersion: before.b.modelVersion,
        sequence: before.b.sequence,
        issuedAt: before.b.issuedAt,
      });
    }
  });
});
