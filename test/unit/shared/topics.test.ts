import {
  assertDeviceId,
  deviceMayPublish,
  deviceMaySubscribe,
  homeAssistantConfigTopic,
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

describe('Home Assistant discovery topics', () => {
  it('lets a device publish only its own discovery config under the default prefix', () => {
    const own = homeAssistantConfigTopic('cam-01', 'class');
    expect(own).toBe('homeassistant/sensor/edgeloop_cam-01/class/config');
    expect(deviceMayPublish('cam-01', own)).toBe(true);
    expect(deviceMayPublish('cam-02', own)).toBe(false);
    expect(deviceMayPublish('cam-01', 'homeassistant/sensor/edgeloop_cam-02/class/config')).toBe(false);
    expect(deviceMayPublish('cam-01', 'homeassistant/switch/edgeloop_cam-01/class/config')).toBe(false);
    expect(deviceMayPublish('cam-01', 'homeassistant/sensor/edgeloop_cam-01/class/state')).toBe(false);
    expect(deviceMayPublish('cam-01', homeAssistantConfigTopic('cam-01', 'class', 'ha'))).toBe(false);
    expect(() => homeAssistantConfigTopic('cam-01', 'a/b')).toThrow(/object id/);
  });
});
