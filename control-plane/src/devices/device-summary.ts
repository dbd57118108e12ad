/** A device as the API shows it: the registry record without credentials or telemetry. */
import type { DesiredResolution, DeviceSummary } from '@edgeloop/shared';
import type { Resolution } from '../fleet/desired-version.ts';
import type { DeviceRecord } from '../store/store.ts';

/** A version is desired that the device does not report running yet (it is on its way). */
export function isConverging(d: Pick<DeviceRecord, 'desiredVersion' | 'reportedVersion'>): boolean {
  return d.desiredVersion !== null && d.reportedVersion !== d.desiredVersion;
}

/** A resolution as the API shows it (desired-version.ts explains the precedence). */
export function governedBy(r: Resolution): DesiredResolution {
  return {
    source: r.source,
    modelVersion: r.source === 'pin' || r.source === 'target' ? r.modelVersion : null,
    rolloutId: r.source === 'rollout' ? r.rolloutId : null,
    selector: r.source === 'target' ? r.target.selector : null,
  };
}

/** The stored record plus what is derived from it, as GET /devices/{id} answers. */
export function detailOf(d: DeviceRecord, resolution: Resolution) {
  return { ...d, converging: isConverging(d), governedBy: governedBy(resolution) };
}

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
    agentVersion: d.agentVersion,
    enrolledAt: d.enrolledAt,
    pin: d.pin,
    converging: isConverging(d),
  };
}
