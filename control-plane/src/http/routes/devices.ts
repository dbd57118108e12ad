/** The fleet as admins see it, and a device's own desired state. */
import { type DeviceSummary, NotFoundError } from '@edgeloop/shared';
import { Hono } from 'hono';
import { desiredStateOf } from '../../fleet/desired-state.ts';
import type { DeviceRecord } from '../../store/store.ts';
import { deviceIdOf, requireRole } from '../auth.ts';
import type { AppDeps, AppEnv } from '../env.ts';

function summaryOf(d: DeviceRecord): DeviceSummary {
  return {
    deviceId: d.deviceId,
    name: d.name,
    group: d.group,
    online: d.online,
    lastSeenAt: d.lastSeenAt,
    desiredVersion: d.desiredVersion,
    reportedVersion: d.reportedVersion,
    status: d.status,
    enrolledAt: d.enrolledAt,
  };
}

export function deviceRoutes(deps: AppDeps) {
  const { store } = deps;
  return new Hono<AppEnv>()
    .get('/devices', requireRole(deps, 'admin'), (c) =>
      c.json({ devices: store.listDevices().map(summaryOf) }),
    )
    .get('/devices/:id', requireRole(deps, 'admin'), (c) => {
      const device = store.getDevice(c.req.param('id'));
      if (!device) throw new NotFoundError(`device '${c.req.param('id')}' not found`);
      return c.json(device);
    })
    .get('/device/desired', requireRole(deps, 'device'), (c) => {
      const deviceId = deviceIdOf(c);
      const device = store.getDevice(deviceId);
      if (!device) throw new NotFoundError(`device '${deviceId}' not found`);
      return c.json(desiredStateOf(device));
    });
}
