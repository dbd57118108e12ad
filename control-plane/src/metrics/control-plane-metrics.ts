/**
 * The control plane's Prometheus metrics: the only importer of prom-client here. One Registry per
 * control plane (never prom-client's global one), so tests can run several side by side. Counters
 * and the latency histogram are fed by the HTTP layer and an MQTT listener; the fleet figures
 * (devices, samples, rollouts, pipeline runs, queues) are read from the store at scrape time, so
 * they are right after a restart and cost nothing between scrapes; each is one aggregate query,
 * not a read of every device.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Store } from '../store/store.ts';

export interface ControlPlaneMetrics {
  /** One MQTT message received from a device, by topic kind (state, status, predictions, …). */
  mqttMessage(kind: string): void;
  /** One answered API request: its contract route id, method, status and duration. */
  httpRequest(routeId: string, method: string, status: number, seconds: number): void;
  /** One webhook delivery attempt's outcome. */
  alertDelivery(outcome: 'delivered' | 'retried' | 'failed' | 'dropped'): void;
  /** A credential check refused before hashing: by kind (sign-in, enroll, device) and reason. */
  credentialRefused(kind: string, reason: string): void;
  /** Something the embedded broker refused (rate-limited, bad-credentials, oversize-packet, retained-quota). */
  mqttRefused(reason: string): void;
  /** A device message or upload dropped or refused by its quota, by kind. */
  quotaExceeded(kind: string): void;
  /** Device messages not stored: unknown device, refused by the database, or stopping. */
  ingestDropped(reason: string, count: number): void;
  /** Exposition text and its content type. */
  render(): Promise<{ contentType: string; body: string }>;
}

export interface MetricsSources {
  store: Store;
  /** Webhook deliveries waiting (the alert notifier's queue). */
  alertQueueDepth?: () => number;
  /** Open alerts by rule. */
  openAlerts?: () => Promise<Record<string, number>>;
  /** Device messages waiting to be written (the ingest batcher's buffer). */
  ingestBuffered?: () => number;
}

const PIPELINE_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
const ROLLOUT_STATES = ['running', 'paused', 'completed', 'aborted'] as const;

export function createControlPlaneMetrics(sources: MetricsSources): ControlPlaneMetrics {
  const { store } = sources;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Gauges named *_total, which `promtool check metrics` rejects; the per-type gauges beside them stay.
  for (const name of [
    'nodejs_active_handles_total',
    'nodejs_active_requests_total',
    'nodejs_active_resources_total',
  ]) {
    registry.removeSingleMetric(name);
  }

  const mqttIn = new Counter({
    name: 'edgeloop_mqtt_messages_received_total',
    help: 'MQTT messages received from devices, by topic kind.',
    labelNames: ['kind'],
    registers: [registry],
  });
  const ingestDrops = new Counter({
    name: 'edgeloop_ingest_dropped_total',
    help: 'Valid device messages not stored, by reason (unknown-device; rejected by the database; stopped: shut down while the database was down).',
    labelNames: ['reason'],
    registers: [registry],
  });
  new Gauge({
    name: 'edgeloop_ingest_buffered_messages',
    help: 'Device messages received and waiting to be written to the database (at most ingest.maxBuffered: beyond it the backlog waits in the broker).',
    registers: [registry],
    collect() {
      this.set(sources.ingestBuffered?.() ?? 0);
    },
  });
  const http = new Histogram({
    name: 'edgeloop_http_request_duration_seconds',
    help: 'API request duration by contract route id, method and status code.',
    labelNames: ['route', 'method', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const deliveries = new Counter({
    name: 'edgeloop_alert_deliveries_total',
    help: 'Webhook delivery attempts by outcome (delivered, retried, failed after all retries, dropped when the queue was full).',
    labelNames: ['outcome'],
    registers: [registry],
  });

  const credentialRefusals = new Counter({
    name: 'edgeloop_credential_checks_refused_total',
    help: 'Credential checks refused before any password hashing, by kind (sign-in, enroll, device) and reason (address, identity, busy).',
    labelNames: ['kind', 'reason'],
    registers: [registry],
  });
  const mqttRefusals = new Counter({
    name: 'edgeloop_mqtt_refused_total',
    help: 'Connections and publishes the embedded broker refused, by reason (rate-limited, bad-credentials, oversize-packet, retained-quota).',
    labelNames: ['reason'],
    registers: [registry],
  });
  const quotaDrops = new Counter({
    name: 'edgeloop_device_quota_exceeded_total',
    help: 'Device messages dropped and uploads refused by per-device quotas, by kind.',
    labelNames: ['kind'],
    registers: [registry],
  });

  new Gauge({
    name: 'edgeloop_devices',
    help: 'Enrolled devices by status (offline, or the run status they report) and reported model version.',
    labelNames: ['status', 'version'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const c of await store.dashboard.deviceCounts()) {
        this.inc({ status: c.status, version: c.version }, c.devices);
      }
    },
  });
  new Gauge({
    name: 'edgeloop_device_sample_queue_items',
    help: "Samples waiting in devices' on-disk upload queues, summed over online devices (last heartbeat).",
    registers: [registry],
    async collect() {
      this.set(await store.dashboard.sampleQueueItems());
    },
  });
  new Gauge({
    name: 'edgeloop_predictions_stored',
    help: 'Predictions recorded from devices since they enrolled (each counted once, whichever replica received it).',
    registers: [registry],
    async collect() {
      this.set(await store.dashboard.predictionsStored());
    },
  });
  new Gauge({
    name: 'edgeloop_samples_stored',
    help: 'Samples stored by the control plane.',
    registers: [registry],
    async collect() {
      this.set((await store.samples.list({ limit: 0, offset: 0 })).total);
    },
  });
  new Gauge({
    name: 'edgeloop_label_queue_items',
    help: 'Stored samples not labelled yet.',
    registers: [registry],
    async collect() {
      this.set((await store.samples.list({ labelled: false, limit: 0, offset: 0 })).total);
    },
  });
  new Gauge({
    name: 'edgeloop_rollouts',
    help: 'Rollouts by state.',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const counts = Object.fromEntries(ROLLOUT_STATES.map((s) => [s, 0])) as Record<string, number>;
      for (const r of await store.rollouts.list()) counts[r.state] = (counts[r.state] ?? 0) + 1;
      for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'edgeloop_pipeline_runs',
    help: 'Retraining pipeline runs by status (queued ones are the pipeline queue).',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      for (const status of PIPELINE_STATUSES)
        this.set({ status }, (await store.pipeline.runsIn([status])).length);
    },
  });
  new Gauge({
    name: 'edgeloop_alert_delivery_queue_items',
    help: 'Webhook deliveries waiting to be sent or retried.',
    registers: [registry],
    collect() {
      this.set(sources.alertQueueDepth?.() ?? 0);
    },
  });
  new Gauge({
    name: 'edgeloop_alerts_open',
    help: 'Open (firing) alerts by rule.',
    labelNames: ['rule'],
    registers: [registry],
    async collect() {
      const open = (await sources.openAlerts?.()) ?? {};
      this.reset();
      for (const [rule, n] of Object.entries(open)) this.set({ rule }, n);
    },
  });

  return {
    mqttMessage: (kind) => mqttIn.inc({ kind }),
    httpRequest: (route, method, status, seconds) =>
      http.observe({ route, method, status: String(status) }, seconds),
    alertDelivery: (outcome) => deliveries.inc({ outcome }),
    credentialRefused: (kind, reason) => credentialRefusals.inc({ kind, reason }),
    mqttRefused: (reason) => mqttRefusals.inc({ reason }),
    quotaExceeded: (kind) => quotaDrops.inc({ kind }),
    ingestDropped: (reason, count) => ingestDrops.inc({ reason }, count),
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
