/**
 * The agent's Prometheus metrics, served by the local endpoint at GET /metrics: the only importer
 * of prom-client in the agent. One Registry per agent. Per-frame figures come from the agent bus
 * (each prediction's latency into a histogram); the rest is read from the heartbeat figures at
 * scrape time, so nothing here sits on the frame path.
 */
import type { DeviceHealth } from '@edgeloop/shared';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { AgentBus } from '../agent-bus.ts';

export interface AgentMetricsSource {
  deviceId: string;
  agentVersion: string;
  bus: AgentBus;
  health(): DeviceHealth;
  framesProcessed(): number;
  modelVersion(): number | null;
  mqttConnected(): boolean;
}

export interface AgentMetrics {
  render(): Promise<{ contentType: string; body: string }>;
  /** Stops listening to the bus. */
  close(): void;
}

/** A counter whose value is a cumulative figure read at scrape time. */
function cumulative(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

function gauge(registry: Registry, name: string, help: string, read: () => number | null): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      const value = read();
      // No sample rather than a made-up value (no temperature sensor, no model yet).
      if (value === null) this.reset();
      else this.set(value);
    },
  });
}

export function createAgentMetrics(source: AgentMetricsSource): AgentMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Gauges named *_total, which `promtool check metrics` rejects; the per-type gauges stay.
  for (const name of [
    'nodejs_active_handles_total',
    'nodejs_active_requests_total',
    'nodejs_active_resources_total',
  ]) {
    registry.removeSingleMetric(name);
  }

  new Gauge({
    name: 'edgeloop_agent_info',
    help: 'Always 1; labels name the device and the agent version.',
    labelNames: ['device', 'agent_version'],
    registers: [registry],
  }).set({ device: source.deviceId, agent_version: source.agentVersion }, 1);
  const latency = new Histogram({
    name: 'edgeloop_agent_frame_latency_seconds',
    help: 'Frame taken to model answer, per classified frame.',
    buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
    registers: [registry],
  });
  const samples = new Counter({
    name: 'edgeloop_agent_samples_total',
    help: 'Samples queued for labelling and uploaded to the control plane.',
    labelNames: ['event'],
    registers: [registry],
  });
  const installs = new Counter({
    name: 'edgeloop_agent_model_installs_total',
    help: 'Model installs by outcome.',
    labelNames: ['outcome'],
    registers: [registry],
  });
  for (const event of ['queued', 'uploaded']) samples.inc({ event }, 0);
  for (const outcome of ['installed', 'failed']) installs.inc({ outcome }, 0);

  const h = () => source.health();
  gauge(registry, 'edgeloop_agent_fps', 'Frames classified per second, recent.', () => h().fps);
  cumulative(registry, 'edgeloop_agent_frames_processed_total', 'Frames classified since start.', () =>
    source.framesProcessed(),
  );
  cumulative(
    registry,
    'edgeloop_agent_frames_dropped_total',
    'Camera frames dropped since start (the model was busy; the newest frame is always the one classified).',
    () => h().framesDropped,
  );
  cumulative(
    registry,
    'edgeloop_agent_camera_restarts_total',
    'Camera restarts since start.',
    () => h().cameraRestarts,
  );
  gauge(
    registry,
    'edgeloop_agent_sample_queue_items',
    'Samples waiting on disk for upload.',
    () => h().queueDepth,
  );
  cumulative(
    registry,
    'edgeloop_agent_sample_queue_evictions_total',
    'Samples evicted from the full queue since start.',
    () => h().evictions,
  );
  gauge(
    registry,
    'edgeloop_agent_model_version',
    'Model version running (absent before the first install).',
    () => source.modelVersion(),
  );
  gauge(registry, 'edgeloop_agent_mqtt_connected', '1 while connected to the broker.', () =>
    source.mqttConnected() ? 1 : 0,
  );
  gauge(
    registry,
    'edgeloop_agent_cpu_temperature_celsius',
    'CPU temperature where the board exposes it.',
    () => h().cpuTemperatureC,
  );

  const off = source.bus.on((event) => {
    if (event.type === 'prediction') latency.observe(event.prediction.latencyMs / 1000);
    else if (event.type === 'sample-queued') samples.inc({ event: 'queued' });
    else if (event.type === 'sample-uploaded') samples.inc({ event: 'uploaded' });
    else if (event.type === 'model-installed') installs.inc({ outcome: 'installed' });
    else if (event.type === 'model-install-failed') installs.inc({ outcome: 'failed' });
  });

  return {
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
    close: off,
  };
}
