/**
 * The control plane's database, by role. One implementation today (SQLite, sqlite-store.ts);
 * methods are synchronous because every write the control plane makes is one short transaction.
 */

import type { DeviceEvent, DeviceStatus, Manifest, Prediction, ReportedState } from '@edgeloop/shared';
import type { SqlAgentVersionStore } from './agent-version-store.ts';
import type { AlertStore } from './alert-store.ts';
import type { ConfigStore } from './config-store.ts';
import type { DashboardStore } from './dashboard-store.ts';
import type { DatasetStore } from './dataset-store.ts';
import type { FleetTargetStore } from './fleet-target-store.ts';
import type { LabellingStore } from './labelling-store.ts';
import type { LeaseStore } from './lease-store.ts';
import type { PipelineStore } from './pipeline-store.ts';
import type {
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
import type { RegistryStore } from './registry-store.ts';
import type { RolloutStore } from './rollout-store.ts';
import type { SecurityStore } from './security-store.ts';
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

import type { SessionStore } from './session-store.ts';

export { publicSample } from './records.ts';

export interface Store {
  createEnrollmentToken(token: EnrollmentTokenRecord): void;
  /**
   * In one transaction: spends one use of the token and creates the device (or, with a
   * re-enrollment token and an id that exists in its group, gives that device a new secret).
   * Throws UnauthorizedError (unknown, expired or used-up token; nothing changes) or
   * ConflictError (device id taken; the token keeps its use).
   */
  enrollDevice(tokenHash: string, device: NewDevice, now: Date): DeviceRecord;
  /** Whether a token with this hash exists, has uses left and has not expired (checked before hashing). */
  enrollmentTokenUsable(tokenHash: string, now: Date): boolean;
  deviceExists(deviceId: string): boolean;
  getDevice(deviceId: string): DeviceRecord | null;
  getDeviceSecretHash(deviceId: string): string | null;
  listDevices(): DeviceRecord[];
  /** Changes a device's group and/or tags; returns the updated device, or null if unknown. */
  updateDevice(deviceId: string, update: { group?: string; tags?: string[] }): DeviceRecord | null;
  /** Ids matching a target, in id order; explicit ids that do not exist are left out. */
  resolveTarget(target: DeviceTarget): string[];
  /** `manifestPath` null means the version's own manifest. */
  setDesiredVersion(
    deviceIds: readonly string[],
    modelVersion: number | null,
    at: string,
    manifestPath?: string | null,
  ): void;
  recordReportedState(deviceId: string, state: ReportedState, receivedAt: string): void;
  recordStatus(deviceId: string, status: DeviceStatus, receivedAt: string): void;
  recordPrediction(deviceId: string, prediction: Prediction, receivedAt: string): void;
  /** The last prediction of each of the device's cameras, by camera id. */
  cameraPredictions(deviceId: string): CameraPrediction[];
  recordEvent(deviceId: string, event: DeviceEvent, receivedAt: string): void;
  /**
   * Deletes device events received before `before` (ISO time) and, per device, all but the
   * newest `keepPerDevice`; returns how many went.
   */
  pruneDeviceEvents(before: string, keepPerDevice: number): number;
  listEvents(deviceId: string, limit?: number): DeviceEventRecord[];
  /** At start: nobody is connected until the broker says so again. */
  markAllOffline(): void;

  latestModelVersion(): number | null;
  /** Throws ConflictError unless the version is greater than every stored one. */
  insertModelVersion(record: ModelVersionRecord): void;
  getModelVersion(modelVersion: number): ModelVersionRecord | null;
  listModelVersions(): ModelVersionRecord[];
  /** Replaces a version's signed manifest (re-signed with a later expiry; same content). */
  updateModelManifest(modelVersion: number, manifest: Manifest): void;
  readonly rollouts: RolloutStore;
  /** Group, tag and fleet-wide target versions, and device pins. */
  readonly targets: FleetTargetStore;

  /**
   * Inserts once per (device, idempotency key) and once per image content (sha256): a repeat of
   * either returns the first sample as a duplicate.
   */
  insertSample(sample: NewSample, receivedAt: string): { sample: SampleRecord; duplicate: boolean };
  findSampleByKey(deviceId: string, idempotencyKey: string): SampleRecord | null;
  findSampleBySha256(sha256: string): SampleRecord | null;
  getSample(sampleId: string): SampleRecord | null;
  listSamples(query: { labelled?: boolean; limit: number; offset: number }): {
    samples: SampleRecord[];
    total: number;
  };
  markSamplesUsed(sampleIds: readonly string[], modelVersion: number): number;

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
  /** Agent software versions, devices' desired agent version, agent rollouts. */
  readonly agentVersions: SqlAgentVersionStore;

  close(): void;
}
