/** A device as the API shows it: the registry record without credentials or telemetry. */
import type { DeviceSummary } from '@edgeloop/shared';
import type { DeviceRecord } from '../store/store.ts';

export function summaryOf(d: DeviceRecord): DeviceSummary {
  return {
    deviceId: d.deviceId,
    name: d.name,
    group: d.group,
    tags: d.tags,
    online: d.online,
    lastSeenAt: d.lastSeenAt,
    desiredVersion: d.desiredVersion,
    reportedVersion: d.reportedVersion,
    status: d.status,
    enrolledAt: d.enrolledAt,
  };
}
