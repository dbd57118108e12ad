/**
 * A real agent (synthetic camera, onnxruntime on a tiny model) against a real control plane:
 * the agent's /metrics passes promtool and its figures move as frames are classified, and the
 * control plane's MQTT counters rise with the agent's real messages.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Agent, startAgent } from '@edgeloop/agent';
import { AgentConfigSchema, ApiClient, createLogger } from '@edgeloop/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { testManifest } from '../../helpers/manifest-fixture.ts';
import { checkMetrics, sampleValue } from '../../helpers/promtool.ts';
import { createToken, startTestControlPlane, type TestControlPlane } from '../control-plane/helpers.ts';
import { fleetModel, waitUntil } from '../rollouts/fleet.ts';

let t: TestControlPlane;
let agent: Agent;

afterEach(async () => {
  await agent?.close();
  await t?.stop();
});

async function scrape(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

describe('agent /metrics', () => {
  it('passes promtool and moves with real frames; the control plane counts its MQTT messages', async () => {
    t = await startTestControlPlane();
    const api = new ApiClient(t.cp.httpUrl, t.cp.adminToken);
    const model = fleetModel('confident', 1);
    await api.publishModel(
      testManifest(model, { modelVersion: 1, name: 'm1' }),
      new Map([['model.onnx', model]]),
    );
    const config = AgentConfigSchema.parse({
      controlPlaneUrl: t.cp.httpUrl,
      dataDir: join(t.dataDir, 'agent'),
      enrollmentToken: await createToken(t),
      deviceId: 'cam-metrics',
      trustedKeys: [t.cp.signingPublicKey],
      camera: { type: 'synthetic', width: 48, height: 48, fps: 10, seed: 1 },
      reportIntervalMs: 200,
      http: { host: '127.0.0.1', port: 0 },
      logLevel: 'silent',
    });
    agent = await startAgent(config, { logger: createLogger({ level: 'silent' }), httpTimeoutMs: 2_000 });
    const url = agent.localUrl;
    if (!url) throw new Error('no local endpoint');
    await api.assign(1, { deviceIds: ['cam-metrics'] });
    await waitUntil(() => agent.stats().framesProcessed >= 3, 'frames classified with v1');

    const first = await scrape(url);
    const check = await checkMetrics(first);
    expect(check.output).toBe('');
    expect(check.code).toBe(0);
    expect(sampleValue(first, 'edgeloop_agent_model_version')).toBe(1);
    expect(sampleValue(first, 'edgeloop_agent_info', { device: 'cam-metrics' })).toBe(1);
    expect(sampleValue(first, 'edgeloop_agent_model_installs_total', { outcome: 'installed' })).toBe(1);
    const frames = sampleValue(first, 'edgeloop_agent_frames_processed_total') ?? 0;
    const observed = sampleValue(first, 'edgeloop_agent_frame_latency_seconds_count') ?? 0;
    expect(observed).toBeGreaterThan(0);
    for (const name of [
      'edgeloop_agent_fps',
      'edgeloop_agent_frames_dropped_total',
      'edgeloop_agent_camera_restarts_total',
      'edgeloop_agent_sample_queue_items',
    ]) {
      expect(sampleValue(first, name), name).toBeGreaterThanOrEqual(0);
    }

    await waitUntil(() => agent.stats().framesProcessed >= frames + 5, 'more frames');
    const second = await scrape(url);
    expect(sampleValue(second, 'edgeloop_agent_frames_processed_total')).toBeGreaterThan(frames);
    expect(sampleValue(second, 'edgeloop_agent_frame_latency_seconds_count')).toBeGreaterThan(observed);
    expect(sampleValue(second, 'edgeloop_agent_mqtt_connected')).toBe(1);

    // The agent's real state reports and predictions over the real broker, counted by kind.
    const cp = await waitUntil(async () => {
      const text = await (await fetch(`${t.cp.httpUrl}/metrics`)).text();
      const state = sampleValue(text, 'edgeloop_mqtt_messages_received_total', { kind: 'state' }) ?? 0;
      const predictions =
        sampleValue(text, 'edgeloop_mqtt_messages_received_total', { kind: 'predictions' }) ?? 0;
      return state >= 2 && predictions >= 1 ? text : null;
    }, 'MQTT counters to rise');
    expect(sampleValue(cp, 'edgeloop_devices', { status: 'running', version: '1' })).toBe(1);
    expect((await checkMetrics(cp)).code).toBe(0);

    // Every series the ready-made Grafana dashboard queries is one of the two endpoints' own.
    const exported = new Set(
      [...`${second}\n${cp}`.matchAll(/^# TYPE (\S+) (\w+)/gm)].flatMap(([, name, type]) =>
        type === 'histogram' ? [`${name}_bucket`, `${name}_count`, `${name}_sum`] : [name],
      ),
    );
    const dashboard = readFileSync(
      join(import.meta.dirname, '../../../deploy/grafana/edgeloop-dashboard.json'),
      'utf8',
    );
    const queried = new Set([...dashboard.matchAll(/\b(edgeloop_[a-z_]+)/g)].map((m) => m[1]));
    expect(queried.size).toBeGreaterThan(10);
    expect([...queried].filter((name) => !exported.has(name))).toEqual([]);
  });
});
