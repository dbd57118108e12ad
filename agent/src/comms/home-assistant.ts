/**
 * Home Assistant MQTT discovery payloads: each camera appears as a device with two sensors, the
 * predicted class and its confidence, both read from the device's own predictions topic and
 * marked unavailable through its status topic (the MQTT will). Home Assistant must subscribe to the
 * broker the agent publishes to: a site broker (agent `mqttUrl`) or the control plane's broker.
 */
import { homeAssistantConfigTopic, topics } from '@edgeloop/shared';
import { AGENT_VERSION } from '../version.ts';

export interface DiscoveryMessage {
  topic: string;
  payload: Record<string, unknown>;
}

export function homeAssistantDiscovery(
  deviceId: string,
  options: { name?: string; prefix: string },
): DiscoveryMessage[] {
  const common = {
    state_topic: topics.predictions(deviceId),
    availability_topic: topics.status(deviceId),
    availability_template: "{{ 'online' if value_json.online else 'offline' }}",
    device: {
      identifiers: [`edgeloop_${deviceId}`],
      name: options.name ?? deviceId,
      manufacturer: 'edgeloop',
      model: 'edgeloop agent',
      sw_version: AGENT_VERSION,
    },
  };
  return [
    {
      topic: homeAssistantConfigTopic(deviceId, 'class', options.prefix),
      payload: {
        ...common,
        name: 'class',
        unique_id: `edgeloop_${deviceId}_class`,
        value_template: '{{ value_json.topK[0].label }}',
        json_attributes_topic: topics.predictions(deviceId),
        json_attributes_template:
          "{{ {'confidence': value_json.topK[0].confidence, 'model_version': value_json.modelVersion} | tojson }}",
        icon: 'mdi:cctv',
      },
    },
    {
      topic: homeAssistantConfigTopic(deviceId, 'confidence', options.prefix),
      payload: {
        ...common,
        name: 'confidence',
        unique_id: `edgeloop_${deviceId}_confidence`,
        value_template: '{{ (value_json.topK[0].confidence * 100) | round(1) }}',
        unit_of_measurement: '%',
        state_class: 'measurement',
      },
    },
  ];
}
