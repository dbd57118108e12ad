/** The fleet as admins see it, and a device's own desired state. */
import { NotFoundError, UpdateDeviceSchema } from '@edgeloop/shared';
import { Hono } from 'hono';
import { summaryOf } from '../../devices/device-summary.ts';
import { desiredStateOf } from '../../fleet/desired-state.ts';
import { normaliseTags } from '../../store/device-tags.ts';
import { deviceIdOf, requireRole } from '../auth.ts';
import { readJson } from '../body.ts';
import type { AppDeps, AppEnv } from '../env.ts';

function liveFrameOf(deps: AppDeps, deviceId: string) {
  const frame = deps.liveFrames?.get(deviceId) ?? null;
  if (!frame) throw new NotFoundError(`no live frame from device '${deviceId}' yet`);
  return frame;
}

export function deviceRoutes(deps: AppDeps) {
  const { store } = deps;
  return (
    new Hono<AppEnv>()
      .get('/devices', requireRole(deps, 'admin'), (c) =>
        c.json({ devices: store.listDevices().map(summaryOf) }),
      )
      .get('/devices/:id', requireRole(deps, 'admin'), (c) => {
        const device = store.getDevice(c.req.param('id'));
        if (!device) throw new NotFoundError(`device '${c.req.param('id')}' not found`);
        return c.json(device);
      })
      // Operators regroup and retag devices (it changes which rollouts they fall into, not what runs).
      .patch('/devices/:id', requireRole(deps, 'admin'), async (c) => {
        const update = await readJson(c, UpdateDeviceSchema, 'device update');
        const device = store.updateDevice(c.req.param('id'), {
          group: update.group,
          tags: update.tags && normaliseTags(update.tags),
        });
        if (!device) throw new NotFoundError(`device '${c.req.param('id')}' not found`);
        deps.logger.info(
          { deviceId: device.deviceId, group: device.group, tags: device.tags },
          'device updated',
        );
        return c.json(summaryOf(device));
      })
      // The last live frame: its prediction as JSON, the JPEG itself under /frame.jpg.
      .get('/devices/:id/frame', requireRole(deps, 'admin'), (c) => {
        const { jpeg, ...frame } = liveFrameOf(deps, c.req.param('id'));
        return c.json({ ...frame, bytes: jpeg.length });
      })
      .get('/devices/:id/frame.jpg', requireRole(deps, 'admin'), (c) => {
        const frame = liveFrameOf(deps, c.req.param('id'));
        c.header('content-type', 'image/jpeg');
        c.header('cache-control', 'no-store');
        c.header('x-edgeloop-frame-id', encodeURIComponent(frame.frameId));
        return c.body(new Uint8Array(frame.jpeg));
      })
      .get('/device/desired', requireRole(deps, 'device'), (c) => {
        const deviceId = deviceIdOf(c);
        const device = store.getDevice(deviceId);
        if (!device) throw new NotFoundError(`device '${deviceId}' not found`);
        return c.json(desiredStateOf(device));
      })
  );
}
