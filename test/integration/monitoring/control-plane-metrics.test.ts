/**
 * The control plane's /metrics: Prometheus's own checker accepts it, who may read it is enforced,
 * and the figures move with real traffic (MQTT messages from a device through the real broker,
 * HTTP requests timed by their contract route id).
 */
import { type ReportedState, topics } from '@edgeloop/shared';
import type { MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { checkMetrics, sampleValue } from '../../helpers/promtool.ts';
import {
  connectDevice,
  type Device,
  enroll,
  startTestControlPlane,
  type TestControlPlane,
} from '../control-plane/helpers.ts';

const WAIT = { timeout: 5_000, interval: 20 };
const METRICS_TOKEN = 'scraper-token-0123456789';

let t: TestControlPlane;
let device: Device;
let client: MqttClient | null = null;

function scrape(headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${t.cp.httpUrl}/metrics`, { headers });
}

async function metricsText(): Promise<string> {
  const res = await scrape();
  expect(res.status).toBe(200);
  return res.text();
}

function state(overrides: Partial<ReportedState> = {}): string {
  const s: ReportedState = {
    protocol: 1,
    modelVersion: null,
    status: 'idle',
    agentVersion: '0.1.0',
    framesProcessed: 0,
    samplesQueued: 3,
    reportedAt: new Date().toISOString(),
    ...overrides,
  };
  return JSON.stringify(s);
}

beforeEach(async () => {
  t = await startTestControlPlane({ metrics: { token: METRICS_TOKEN } });
  device = await enroll(t, 'cam-metrics');
});

afterEach(async () => {
  await client?.endAsync(true);
  client = null;
  await t.stop();
});

describe('control plane /metrics', () => {
  it('passes promtool check metrics', async () => {
    await t.api('/devices', { admin: true });
    const text = await metricsText();
    const { code, output } = await checkMetrics(text);
    expect(output).toBe('');
    expect(code).toBe(0);
    expect(text).toContain('# TYPE edgeloop_http_request_duration_seconds histogram');
  });

  it('counts MQTT messages by kind and reports devices by status and version, moving with traffic', async () => {
    const before = await metricsText();
    expect(sampleValue(before, 'edgeloop_mqtt_messages_received_total', { kind: 'state' }) ?? 0).toBe(0);
    expect(sampleValue(before, 'edgeloop_devices', { status: 'offline', version: 'none' })).toBe(1);

    client = await connectDevice(t.cp.mqttUrl, device);
    await client.publishAsync(
      topics.status(device.deviceId),
      JSON.stringify({ protocol: 1, online: true, at: new Date().toISOString() }),
      { qos: 1, retain: true },
    );
    for (let i = 0; i < 3; i++) {
      await client.publishAsync(topics.state(device.deviceId), state({ status: 'running' }), { qos: 1 });
    }
    await vi.waitFor(async () => {
      const text = await metricsText();
      expect(sampleValue(text, 'edgeloop_mqtt_messages_received_total', { kind: 'state' })).toBe(3);
      expect(sampleValue(text, 'edgeloop_mqtt_messages_received_total', { kind: 'status' })).toBe(1);
      expect(sampleValue(text, 'edgeloop_devices', { status: 'running', version: 'none' })).toBe(1);
      expect(sampleValue(text, 'edgeloop_device_sample_queue_items')).toBe(3);
    }, WAIT);
    expect((await checkMetrics(await metricsText())).code).toBe(0);
  });

  it('times API requests by contract route id, refused ones too', async () => {
    await t.api('/devices', { admin: true });
    await t.api('/devices', { admin: true });
    await t.api('/devices');
    const text = await metricsText();
    expect(
      sampleValue(text, 'edgeloop_http_request_duration_seconds_count', {
        route: 'listDevices',
        method: 'GET',
        status: '200',
      }),
    ).toBe(2);
    expect(
      sampleValue(text, 'edgeloop_http_request_duration_seconds_count', {
        route: 'listDevices',
        status: '401',
      }),
    ).toBe(1);
  });

  it('serves a bearer of the metrics or admin token, and refuses a wrong one', async () => {
    expect((await scrape({ authorization: `Bearer ${METRICS_TOKEN}` })).status).toBe(200);
    expect((await scrape({ authorization: `Bearer ${t.cp.adminToken}` })).status).toBe(200);
    expect((await scrape({ authorization: 'Bearer not-the-token-at-all' })).status).toBe(401);
  });
});

describe('control plane /metrics without a token from elsewhere than loopback', () => {
  it('is refused when loopback access is turned off', async () => {
    await t.stop();
    t = await startTestControlPlane({ metrics: { allowLoopback: false } });
    expect((await scrape()).status).toBe(401);
    expect((await scrape({ authorization: `Bearer ${t.cp.adminToken}` })).status).toBe(200);
    device = await enroll(t, 'cam-metrics');
  });

  it('is not served at all when metrics are turned off', async () => {
    await t.stop();
    t = await startTestControlPlane({ metrics: { enabled: false } });
    expect((await scrape({ authorization: `Bearer ${t.cp.adminToken}` })).status).toBe(404);
    device = await enroll(t, 'cam-metrics');
  });

  it('is refused to a peer that is not on loopback (the app without a node:http request)', async () => {
    const res = await t.cp.app.request('/metrics');
    expect(res.status).toBe(403);
  });
});
