/**
 * Home Assistant MQTT discovery payloads: the agent appears as a device with two sensors per
 * camera, the predicted class and its confidence, both read from the device's own predictions topic
 * and marked unavailable through its status topic (the MQTT will). Home Assistant must subscribe to
 * the broker the agent publishes to: a site broker (agent `mqttUrl`) or the control plane's broker.
 *
 * One camera keeps the object ids `class` and `confidence` (so existing entities stay). With
 * several, each camera's are `{camera}_class` and `{camera}_confidence`, and since all cameras share
 * the predictions topic, each sensor's template keeps its current state (`this.state`) for the
 * other cameras' predictions.
 */
import { homeAssistantConfigTopic, topics } from '@edgeloop/shared';
import { AGENT_VERSION } from '../version.ts';

export interface DiscoveryMessage {
  topic: string;
  payload: Record<string, unknown>;
}

export function homeAssistantDiscovery(
  deviceId: string,
  options: { name?: string; prefix: string; cameraIds?: string[] },
): DiscoveryMessage[] {
  const cameraIds = options.cameraIds ?? [];
  if (cameraIds.length <= 1) return cameraDiscovery(deviceId, options, null);
  return cameraIds.flatMap((cameraId) => cameraDiscovery(deviceId, options, cameraId));
}

/** The two sensors of one camera; `cameraId` null for an agent's only camera. */
function cameraDiscovery(
  deviceId: string,
  options: { name?: string; prefix: string },
  cameraId: string | null,
): DiscoveryMessage[] {
  const object = (name: string) => (cameraId === null ? name : `${cameraId.replaceAll('-', '_')}_${name}`);
  const label = (name: string) => (cameraId === null ? name : `${cameraId} ${name}`);
  // Other cameras' predictions arrive on the same topic: they leave this sensor as it is.
  const only = (template: string) =>
    cameraId === null
      ? `{{ ${template} }}`
      : `{% if value_json.cameraId == '${cameraId}' %}{{ ${template} }}{% else %}{{ this.state }}{% endif %}`;
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
      topic: homeAssistantConfigTopic(deviceId, object('class'), options.prefix),
      payload: {
        ...common,
        name: label('class'),
        unique_id: `edgeloop_${deviceId}_${object('class')}`,
        value_template: only('value_json.topK[0].label'),
        json_attributes_topic: topics.predictions(deviceId),
        json_attributes_template:
          "{{ {'confidence': value_json.topK[0].confidence, 'model_version': value_json.modelVersion} | tojson }}",
        icon: 'mdi:cctv',
      },
    },
    {
      topic: homeAssistantConfigTopic(deviceId, object('confidence'), options.prefix),
      payload: {
        ...common,
        name: label('confidence'),
        unique_id: `edgeloop_${deviceId}_${object('confidence')}`,
        value_template: only('(value_json.topK[0].confidence * 100) | round(1)'),
        unit_of_measurement: '%',
        state_class: 'measurement',
      },
    },
  ];
}
