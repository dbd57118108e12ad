/**
 * The control plane's database, by role: one sub-store per concept, every method async. Two
 * engines implement it with the same SQL (sql-store.ts): SQLite, the embedded default
 * (sqlite-store.ts), and Postgres for running past one machine (postgres-store.ts).
 */
import type { SqlAgentVersionStore } from './agent-version-store.ts';
import type { AlertStore } from './alert-store.ts';
import type { ConfigStore } from './config-store.ts';
import type { DashboardStore } from './dashboard-store.ts';
import type { DatasetStore } from './dataset-store.ts';
import type { DeviceStore } from './device-store.ts';
import type { EventStore } from './event-store.ts';
import type { FleetTargetStore } from './fleet-target-store.ts';
import type { LabellingStore } from './labelling-store.ts';
import type { LeaseStore } from './lease-store.ts';
import type { ModelStore } from './model-store.ts';
import type { PipelineStore } from './pipeline-store.ts';
import type { RateBucketStore } from './rate-bucket-store.ts';
import type { RegistryStore } from './registry-store.ts';
import type { RolloutStore } from './rollout-store.ts';
import type { SampleStore } from './sample-store.ts';
import type { SecurityStore } from './security-store.ts';
import type { SessionStore } from './session-store.ts';
import type { SqlDialect } from './sql.ts';
import type { WebhookDeliveryStore } from './webhook-delivery-store.ts';

export type {
  CameraPrediction,
  DeviceEventRecord,
  DeviceRecord,
  DeviceTarget,
  EnrollmentTokenRecord,
  ModelVersionRecord,
  NewDevice,
  NewSample,
  SampleRecord,
} from './records.ts';

export { publicSample } from './records.ts';

export interface Store {
  /** Which engine this is (for logs and the health page). */
  readonly engine: SqlDialect;
  /** Devices, enrollment tokens, reported state, status and predictions. */
  readonly devices: DeviceStore;
  readonly events: EventStore;
  readonly models: ModelStore;
  readonly samples: SampleStore;
  readonly rollouts: RolloutStore;
  /** Group, tag and fleet-wide target versions, and device pins. */
  readonly targets: FleetTargetStore;
  /** The learning loop's records, one object per concept on the same database. */
  readonly labelling: LabellingStore;
  readonly datasets: DatasetStore;
  readonly registry: RegistryStore;
  readonly pipeline: PipelineStore;
  /** Read-only views for the dashboard. */
  readonly dashboard: DashboardStore;
  /** Alerts raised and drift baselines. */
  readonly alerts: AlertStore;
  /** Remote agent configuration fragments and what devices applied. */
  readonly config: ConfigStore;
  /** Alert notifications not yet delivered to their webhooks. */
  readonly webhookDeliveries: WebhookDeliveryStore;
  /** Device certificates, revocations and desired-state sequence numbers. */
  readonly security: SecurityStore;
  /** Signed-out dashboard sessions. */
  readonly sessions: SessionStore;
  /** Which replica does the work only one may do at a time. */
  readonly leases: LeaseStore;
  /** Token buckets every replica shares (the credential guard's budgets when clustered). */
  readonly rateBuckets: RateBucketStore;
  /** Agent software versions, devices' desired agent version, agent rollouts. */
  readonly agentVersions: SqlAgentVersionStore;
  /**
   * Runs `fn` in one transaction: the store it is given writes inside it (nested
   * transactions join it); a throw rolls everything back.
   */
  transaction<T>(fn: (store: Store) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
