/** Row ↔ record mapping for the SQL store: pure functions (and the device SELECT they map), no database access. */
import {
  type DeviceHealth,
  type Manifest,
  type ModelMetrics,
  PROTOCOL_VERSION,
  type Prediction,
  redactText,
  type Sample,
} from '@edgeloop/shared';
import type { DeviceEventRecord, DeviceRecord, ModelVersionRecord, SampleRecord } from './records.ts';

export interface DeviceRow {
  id: string;
  name: string | null;
  grp: string;
  tags: string;
  hardware: string | null;
  enrolled_at: string;
  desired_version: number | null;
  desired_updated_at: string | null;
  desired_manifest_path: string | null;
  health: string | null;
  reported_version: number | null;
  status: string | null;
  detail: string | null;
  agent_version: string | null;
  online: number;
  last_seen_at: string | null;
  frames_processed: number;
  samples_queued: number;
  predictions_total: number | null;
  last_prediction: string | null;
  pinned_version: number | null;
  pinned_reason: string | null;
  pinned_by: string | null;
  pinned_at: string | null;
}

/** The device rows `deviceFromRow` maps: devices aliased `d`, with their prediction figures. */
export const DEVICE_SELECT = `
  SELECT d.*, p.total AS predictions_total, p.last_prediction AS last_prediction
  FROM devices d LEFT JOIN prediction_stats p ON p.device_id = d.id`;

export function deviceFromRow(row: DeviceRow): DeviceRecord {
  return {
    deviceId: row.id,
    name: row.name,
    group: row.grp,
    tags: JSON.parse(row.tags) as string[],
    hardware: row.hardware,
    online: row.online === 1,
    lastSeenAt: row.last_seen_at,
    desiredVersion: row.desired_version,
    desiredUpdatedAt: row.desired_updated_at,
    desiredManifestPath: row.desired_manifest_path,
    reportedVersion: row.reported_version,
    status: row.status,
    detail: row.detail,
    agentVersion: row.agent_version,
    enrolledAt: row.enrolled_at,
    framesProcessed: row.frames_processed,
    samplesQueued: row.samples_queued,
    predictionsTotal: row.predictions_total ?? 0,
    lastPrediction: row.last_prediction === null ? null : (JSON.parse(row.last_prediction) as Prediction),
    health: row.health === null ? null : (JSON.parse(row.health) as DeviceHealth),
    pin:
      row.pinned_version === null
        ? null
        : {
            modelVersion: row.pinned_version,
            reason: row.pinned_reason,
            pinnedBy: row.pinned_by ?? 'admin',
            pinnedAt: row.pinned_at ?? row.enrolled_at,
          },
  };
}

export interface ModelVersionRow {
  version: number;
  name: string;
  manifest: string;
  metrics: string | null;
  created_at: string;
  published_at: string;
}

export function modelVersionFromRow(row: ModelVersionRow): ModelVersionRecord {
  return {
    modelVersion: row.version,
    name: row.name,
    manifest: JSON.parse(row.manifest) as Manifest,
    metrics: row.metrics === null ? null : (JSON.parse(row.metrics) as ModelMetrics),
    createdAt: row.created_at,
    publishedAt: row.published_at,
  };
}

export interface SampleRow {
  id: string;
  device_id: string;
  sha256: string;
  object_key: string;
  content_type: string;
  bytes: number;
  width: number;
  height: number;
  model_version: number | null;
  frame_id: string;
  captured_at: string;
  received_at: string;
  reason: Sample['reason'];
  top_k: string;
  confidence: number;
  label: string | null;
  labelled_by: string | null;
  labelled_at: string | null;
  used_in_model_version: number | null;
  camera_id: string | null;
  embedding: string | null;
}

export function sampleFromRow(row: SampleRow): SampleRecord {
  return {
    sampleId: row.id,
    deviceId: row.device_id,
    modelVersion: row.model_version,
    frameId: row.frame_id,
    capturedAt: row.captured_at,
    receivedAt: row.received_at,
    reason: row.reason,
    topK: JSON.parse(row.top_k) as Sample['topK'],
    confidence: row.confidence,
    sha256: row.sha256,
    bytes: row.bytes,
    width: row.width,
    height: row.height,
    label: row.label,
    labelledBy: row.labelled_by,
    labelledAt: row.labelled_at,
    usedInModelVersion: row.used_in_model_version,
    cameraId: row.camera_id ?? null,
    embedding: row.embedding === null ? null : (JSON.parse(row.embedding) as number[]),
    objectKey: row.object_key,
    contentType: row.content_type,
  };
}

export interface DeviceEventRow {
  device_id: string;
  type: DeviceEventRecord['type'];
  message: string;
  model_version: number | null;
  camera_id: string | null;
  at: string;
  received_at: string;
}

export function deviceEventFromRow(row: DeviceEventRow): DeviceEventRecord {
  return {
    protocol: PROTOCOL_VERSION,
    deviceId: row.device_id,
    type: row.type,
    // Rows stored before events were redacted on arrival still hold what the device sent.
    message: redactText(row.message),
    modelVersion: row.model_version ?? undefined,
    cameraId: row.camera_id ?? undefined,
    at: row.at,
    receivedAt: row.received_at,
  };
}
