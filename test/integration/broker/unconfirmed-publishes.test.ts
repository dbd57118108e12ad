/**
 * A replica whose connection to the broker is down when an operator assigns a model: the
 * assignment is stored and answered, the desired state cannot be published, and the broker
 * resumes the replica's session when it comes back (so no fleet-wide republish follows). The
 * device must still get its desired state — from this replica's next connect — not only at the
 * next leader election. Real Mosquitto with dynamic security, the control plane in cluster mode,
 * a TCP hop in between that is cut and restored.
 */
import { ApiClient, DesiredStateSchema, topics } from '@edgeloop/shared';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { startCuttableHop } from '../../helpers/cuttable-hop.ts';
import { testManifest } from '../../helpers/manifest-fixture.ts';
import { startMosquitto } from '../../helpers/mosquitto.ts';
import {
  connectDevice,
  type Device,
  enroll,
  startTestControlPlane,
  type TestControlPlane,
} from '../control-plane/helpers.ts';
import { fleetModel } from '../rollouts/fleet.ts';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
let t: TestControlPlane;
let hop: Awaited<ReturnType<typeof startCuttableHop>>;
let brokerUrl: string;
let device: Device;

beforeAll(async () => {
  const broker = await startMosquitto();
  cleanups.push(() => broker.remove());
  brokerUrl = broker.url;
  hop = await startCuttableHop(broker.url);
  cleanups.push(() => hop.close());
  t = await startTestControlPlane({
    mqtt: {
      external: {
        url: hop.url,
        username: broker.service.username,
        password: broker.service.password,
        identities: 'mosquitto-dynsec',
      },
    },
    cluster: { enabled: true, replicaId: 'cp-solo', leaseSeconds: 1 },
  });
  cleanups.push(() => t.stop());
  const api = new ApiClient(t.cp.httpUrl, t.cp.adminToken);
  const model = fleetModel('confident', 1);
  await api.publishModel(testManifest(model, { modelVersion: 1 }), new Map([['model.onnx', model]]));
  device = await enroll(t, 'cam-cut');
}, 60_000);

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

it('publishes a desired state the broker could not take once this replica is connected again', async () => {
  const api = new ApiClient(t.cp.httpUrl, t.cp.adminToken);
  const connected = () => t.logs.entries.filter((e) => e.msg === 'mqtt reconnected').length;
  hop.cut();
  await vi.waitFor(() =>
    expect(t.logs.entries.some((e) => e.msg === 'mqtt connection lost; reconnecting')).toBe(true),
  );
  // Stored and answered while the broker is out of reach.
  expect(await api.assign(1, { deviceIds: ['cam-cut'] })).toEqual(['cam-cut']);
  expect(t.logs.entries.some((e) => e.msg === 'desired state not confirmed by the broker yet')).toBe(true);

  hop.restore();
  await vi.waitFor(() => expect(connected()).toBe(1), { timeout: 15_000 });
  // The broker kept the session: nothing republishes the fleet.
  expect(t.logs.entries.some((e) => e.msg === 'republished desired state' && e.devices === 1)).toBe(false);

  // The device, connecting as an agent does, gets version 1 as its retained desired state.
  const client = await connectDevice(brokerUrl, device);
  cleanups.push(() => client.endAsync(true));
  const states: number[] = [];
  client.on('message', (topic, payload) => {
    if (topic === topics.desired('cam-cut'))
      states.push(DesiredStateSchema.parse(JSON.parse(payload.toString())).modelVersion ?? -1);
  });
  await client.subscribeAsync(topics.desired('cam-cut'), { qos: 1 });
  await vi.waitFor(() => expect(states).toContain(1), { timeout: 10_000 });
}, 60_000);
