/**
 * The records the store reads and writes: plain types and pure helpers, no database access. A leaf
 * of store/, so the row mappers and the per-concept stores can use them without importing store.ts
 * (which imports their interfaces).
 */
import type {
  DeviceEvent,
  DeviceHealth,
  DevicePin,
  DeviceStatus,
  DeviceSummary,
  Manifest,
  ModelMetrics,
  Prediction,
  ReportedState,
  Sample,
  SampleMetadata,
} from '@edgeloop/shared';

export interface EnrollmentTokenRecord {
  tokenHash: string;
  group: string;
  usesLeft: number;
  expiresAt: string;
  /** May re-enroll a device id that exists in `group` (new secret, record kept). */
  reenroll?: boolean;
}

export interface NewDevice {
  deviceId: string;
  name: string | null;
  hardware: string | null;
  secretHash: string;
  /** Sorted, no repeats (normaliseTags); none when absent. */
  tags?: string[];
}

export interface DeviceRecord extends Omit<DeviceSummary, 'converging'> {
  /** Set when the desired version must be fetched through another manifest (a rollback one). */
  desiredManifestPath: string | null;
  hardware: string | null;
  detail: string | null;
  agentVersion: string | null;
  framesProcessed: number;
  samplesQueued: number;
  desiredUpdatedAt: string | null;
  predictionsTotal: number;
  lastPrediction: Prediction | null;
  /** The last heartbeat figures the agent reported; null for agents that send none. */
  health: DeviceHealth | null;
  pin: DevicePin | null;
}

export interface ModelVersionRecord {
  modelVersion: number;
  name: string;
  manifest: Manifest;
  /** The metrics.json the version was published with (validated then), as uploaded. */
  metrics: ModelMetrics | null;
  createdAt: string;
  publishedAt: string;
}

export interface NewSample {
  deviceId: string;
  metadata: SampleMetadata;
  sha256: string;
  objectKey: string;
  contentType: string;
  bytes: number;
  width: number;
  height: number;
}

export interface SampleRecord extends Sample {
  objectKey: string;
  contentType: string;
  /** SampleMetadata.embedding as stored; internal to the control plane (the queue's diversity). */
  embedding: number[] | null;
}

export interface CameraPrediction {
  cameraId: string;
  prediction: Prediction;
  receivedAt: string;
}

export interface DeviceEventRecord extends DeviceEvent {
  deviceId: string;
  receivedAt: string;
}

/** One validated report from a device (MQTT), as the ingest batcher hands it to the store. */
export type DeviceReport = { deviceId: string; receivedAt: string } & (
  | { kind: 'state'; state: ReportedState }
  | { kind: 'status'; status: DeviceStatus }
  | { kind: 'prediction'; prediction: Prediction }
);

/** One validated device event, as received. */
export interface ReceivedDeviceEvent {
  deviceId: string;
  event: DeviceEvent;
  receivedAt: string;
}

export type DeviceTarget = { deviceIds: string[] } | { group: string } | { tags: string[] } | { all: true };

/** The public view of a sample: internal storage fields dropped. */
export function publicSample(record: SampleRecord): Sample {
  const { objectKey: _key, contentType: _type, embedding: _embedding, ...sample } = record;
  return sample;
}
