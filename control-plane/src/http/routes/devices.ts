/** The fleet as people see it, and a device's own desired state. */
import { NotFoundError } from '@edgeloop/shared';
import { camerasOf, liveFrameInfo } from '../../devices/device-cameras.ts';
import { detailOf, summaryOf } from '../../devices/device-summary.ts';
import { normaliseTags } from '../../store/device-tags.ts';
import { actorOf } from '../actor.ts';
import { deviceIdOf } from '../auth.ts';
import { handlers } from '../contract-routes.ts';
import type { AppDeps } from '../env.ts';

function liveFrameOf(deps: AppDeps, deviceId: string, cameraId?: string) {
  const frame = deps.liveFrames?.get(deviceId, cameraId) ?? null;
  if (!frame) {
    const which = cameraId ? `camera '${cameraId}' of device '${deviceId}'` : `device '${deviceId}'`;
    throw new NotFoundError(`no live frame from ${which} yet`);
  }
  return frame;
}

export function deviceHandlers(deps: AppDeps) {
  const { store, convergence } = deps;
  return handlers({
    listDevices: async () => ({
      status: 200,
      body: { devices: (await store.devices.list()).map(summaryOf) },
    }),
    getDevice: async ({ params }) => {
      const device = await store.devices.get(params.id);
      if (!device) throw new NotFoundError(`device '${params.id}' not found`);
      const cameras = await camerasOf(store, deps.liveFrames, device.deviceId, device.health);
      return { status: 200, body: { ...detailOf(device, await convergence.resolve(device)), cameras } };
    },
    // Operators regroup and retag devices: it changes which rollouts they fall into, and the
    // device follows the target of its new group or tags.
    updateDevice: async ({ params, body }) => {
      const device = await store.devices.update(params.id, {
        group: body.group,
        tags: body.tags && normaliseTags(body.tags),
      });
      if (!device) throw new NotFoundError(`device '${params.id}' not found`);
      // Group and tags choose which configuration fragments apply.
      await deps.desiredConfig?.publish([device.deviceId]);
      deps.logger.info(
        { deviceId: device.deviceId, group: device.group, tags: device.tags },
        'device updated',
      );
      await convergence.converge([device.deviceId]);
      return { status: 200, body: summaryOf((await store.devices.get(device.deviceId)) ?? device) };
    },
    pinDevice: async ({ params, body }, c) => {
      const pin = { modelVersion: body.modelVersion, reason: body.reason ?? null, pinnedBy: actorOf(c) };
      return { status: 200, body: summaryOf(await convergence.pin(params.id, pin)) };
    },
    unpinDevice: async ({ params }) => ({ status: 200, body: summaryOf(await convergence.unpin(params.id)) }),
    listFleetTargets: async () => ({ status: 200, body: { targets: await store.targets.list() } }),
    // The last live frame: its prediction as JSON, the JPEG itself under /frame.jpg.
    getDeviceFrame: ({ params, query }) => ({
      status: 200,
      body: liveFrameInfo(liveFrameOf(deps, params.id, query.camera)),
    }),
    getDeviceFrameJpeg: ({ params, query }) => {
      const frame = liveFrameOf(deps, params.id, query.camera);
      return new Response(new Uint8Array(frame.jpeg), {
        headers: {
          'content-type': 'image/jpeg',
          'cache-control': 'no-store',
          'x-edgeloop-frame-id': encodeURIComponent(frame.frameId),
        },
      });
    },
    getDesiredState: async (_input, c) => {
      const deviceId = deviceIdOf(c);
      const device = await store.devices.get(deviceId);
      if (!device) throw new NotFoundError(`device '${deviceId}' not found`);
      return { status: 200, body: await deps.desired.stateOf(device) };
    },
  });
}
