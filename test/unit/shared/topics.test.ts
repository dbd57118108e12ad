import {
  assertDeviceId,
  deviceMayPublish,
  deviceMaySubscribe,
  parseDeviceTopic,
  topics,
} from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';

describe('topic tree and device ACL', () => {
  it('builds and parses device topics', () => {
    expect(topics.desired('cam-01')).toBe('edgeloop/v1/devices/cam-01/desired');
    expect(parseDeviceTopic(topics.predictions('cam-01'))).toEqual({
      deviceId: 'cam-01',
      kind: 'predictions',
    });
    expect(parseDeviceTopic('edgeloop/v1/devices/cam-01/other')).toBeNull();
    expect(parseDeviceTopic('$SYS/broker/uptime')).toBeNull();
  });

  it('refuses device ids that could smuggle wildcards or levels', () => {
    for (const id of ['a/b', 'cam+', 'cam#', 'CAM', 'x', ''])
      expect(() => assertDeviceId(id)).toThrow(/device id/);
  });

  it('lets a device publish only on its own outgoing topics', () => {
    expect(deviceMayPublish('cam-01', topics.state('cam-01'))).toBe(true);
    expect(deviceMayPublish('cam-01', topics.predictions('cam-01'))).toBe(true);
    expect(deviceMayPublish('cam-01', topics.state('cam-02'))).toBe(false);
    expect(deviceMayPublish('cam-01', topics.desired('cam-01'))).toBe(false);
    expect(deviceMayPublish('cam-01', '$SYS/x')).toBe(false);
    expect(deviceMayPublish('cam-01', 'edgeloop/v1/devices/cam-01/state/extra')).toBe(false);
  });

  it('lets a device subscribe only to its own desired topic, never with wildcards', () => {
    expect(deviceMaySubscribe('cam-01', topics.desired('cam-01'))).toBe(true);
    expect(deviceMaySubscribe('cam-01', topics.desired('cam-02'))).toBe(false);
    expect(deviceMaySubscribe('cam-01', 'edgeloop/v1/devices/+/desired')).toBe(false);
    expect(deviceMaySubscribe('cam-01', 'edgeloop/#')).toBe(false);
    expect(deviceMaySubscribe('cam-01', topics.state('cam-01'))).toBe(false);
  });
});
