/**
 * Home Assistant discovery against the real control plane's broker ACL: a device may publish its
 * own discovery config (retained, QoS 1, acknowledged), and is disconnected for another device's.
 */
import { homeAssistantConfigTopic, topics } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { homeAssistantDiscovery } from '../../../agent/src/comms/home-assistant.ts';
import {
  closed,
  connectDevice,
  enroll,
  startTestControlPlane,
  type TestControlPlane,
} from '../control-plane/helpers.ts';

let t: TestControlPlane;
beforeAll(async () => {
  t = await startTestControlPlane({ logLevel: 'silent' });
});
afterAll(async () => {
  await t.stop();
});

describe('Home Assistant discovery on the embedded broker', () => {
  it('gives each of several cameras its own two sensors, allowed by the broker', async () => {
    const cam3 = await enroll(t, 'ha-cam-3');
    const discovery = homeAssistantDiscovery('ha-cam-3', {
      prefix: 'homeassistant',
      cameraIds: ['front-door', 'yard'],
    });
    expect(discovery.map((m) => m.topic)).toEqual([
      'homeassistant/sensor/edgeloop_ha-cam-3/front_door_class/config',
      'homeassistant/sensor/edgeloop_ha-cam-3/front_door_confidence/config',
      'homeassistant/sensor/edgeloop_ha-cam-3/yard_class/config',
      'homeassistant/sensor/edgeloop_ha-cam-3/yard_confidence/config',
    ]);
    expect(discovery[2].payload).toMatchObject({
      name: 'yard class',
      unique_id: 'edgeloop_ha-cam-3_yard_class',
      // Other cameras' predictions share the topic: they leave this sensor as it is.
      value_template:
        "{% if value_json.cameraId == 'yard' %}{{ value_json.topK[0].label }}{% else %}{{ this.state }}{% endif %}",
    });
    const client = await connectDevice(t.cp.mqttUrl, cam3);
    for (const m of discovery) {
      await client.publishAsync(m.topic, JSON.stringify(m.payload), { qos: 1, retain: true });
    }
    expect(client.connected).toBe(true);
    await client.endAsync();
  });

  it("accepts a device's own discovery config and refuses another device's", async () => {
    const cam1 = await enroll(t, 'ha-cam-1');
    await enroll(t, 'ha-cam-2');
    const discovery = homeAssistantDiscovery('ha-cam-1', { name: 'porch', prefix: 'homeassistant' });
    expect(discovery.map((m) => m.topic)).toEqual([
      'homeassistant/sensor/edgeloop_ha-cam-1/class/config',
      'homeassistant/sensor/edgeloop_ha-cam-1/confidence/config',
    ]);
    expect(discovery[0].payload).toMatchObject({
      state_topic: topics.predictions('ha-cam-1'),
      availability_topic: topics.status('ha-cam-1'),
      value_template: '{{ value_json.topK[0].label }}',
      device: { identifiers: ['edgeloop_ha-cam-1'], name: 'porch' },
    });

    const client = await connectDevice(t.cp.mqttUrl, cam1);
    for (const m of discovery) {
      await client.publishAsync(m.topic, JSON.stringify(m.payload), { qos: 1, retain: true });
    }
    expect(client.connected).toBe(true);

    const gone = closed(client);
    client.publish(homeAssistantConfigTopic('ha-cam-2', 'class'), '{}', { qos: 1, retain: true });
    await gone;
    expect(client.connected).toBe(false);
    await client.endAsync(true);
  });
});
