/**
 * Request and response bodies that exist only as part of the HTTP contract (the ones that also
 * travel elsewhere live in ../schemas/). Queries arrive as strings, so their schemas coerce.
 */
import { z } from 'zod';
import { UserRoleSchema } from '../config/control-plane-config.ts';
import { CameraIdSchema } from '../schemas/camera-id.ts';
import { DesiredResolutionSchema } from '../schemas/fleet-target.ts';
import { CameraHealthSchema, DeviceHealthSchema } from '../schemas/health.ts';
import { DeviceSummarySchema, SampleSchema } from '../schemas/http.ts';
import { LiveFrameSchema } from '../schemas/live-frame.ts';
import {
  ClassInfoSchema,
  DatasetImageSchema,
  DatasetVersionEntrySchema,
  DatasetVersionSchema,
  LabelEventSchema,
  LabelledSampleSchema,
  ModelLineageSchema,
} from '../schemas/loop.ts';
import { DeviceEventSchema, PredictionSchema } from '../schemas/messages.ts';
import { RolloutDeviceStateSchema } from '../schemas/rollout.ts';

const Id = z.string().min(1).max(200);

/** Path parameters. */
export const IdParamsSchema = z.object({ id: Id });
export const VersionParamsSchema = z.object({
  version: z.coerce.number().int().positive().meta({ description: 'model version', example: 3 }),
});
export const ModelFileParamsSchema = VersionParamsSchema.extend({ name: z.string().min(1).max(200) });
export const ModelRefParamsSchema = z.object({
  ref: z.string().min(1).max(64).meta({ description: 'a model version or an alias', example: 'production' }),
});
export const NameParamsSchema = z.object({ name: z.string().min(1).max(64) });
export const DatasetImageParamsSchema = z.object({ id: Id, sha256: z.string().regex(/^[0-9a-f]{64}$/) });

const pageLimit = (fallback: number, max: number) =>
  z.coerce.number().int().min(1).max(max).default(fallback);
const pageOffset = z.coerce.number().int().min(0).default(0);
const booleanText = z
  .enum(['true', 'false'])
  .transform((v) => v === 'true')
  .optional();

export const SampleListQuerySchema = z.object({
  labelled: booleanText.meta({ description: 'only labelled (true) or unlabelled (false) samples' }),
  limit: pageLimit(100, 1000),
  offset: pageOffset,
});
export const PageQuerySchema = z.object({ limit: pageLimit(100, 1000), offset: pageOffset });
export const LabelQueueQuerySchema = z.object({ limit: pageLimit(50, 500) });
export const CompareQuerySchema = z.object({
  a: z.string().min(1).max(64).meta({ description: 'version or alias', example: '1' }),
  b: z.string().min(1).max(64).meta({ description: 'version or alias', example: '2' }),
});

export const FLEET_SORTS = ['deviceId', 'name', 'group', 'lastSeenAt', 'version', 'online'] as const;
export const FleetQuerySchema = z.object({
  q: z
    .string()
    .max(200)
    .default('')
    .transform((q) => q.trim().toLowerCase())
    .meta({ description: 'search in id, name, group and tags' }),
  status: z.enum(['all', 'online', 'offline']).default('all'),
  group: z.string().max(64).default(''),
  tags: z
    .string()
    .max(2000)
    .default('')
    .transform((t) =>
      t
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== ''),
    )
    .meta({ description: 'comma-separated; devices having all of them' }),
  version: z.string().max(32).default('').meta({ description: "a model version, or 'none'" }),
  sort: z.enum(FLEET_SORTS).default('deviceId'),
  dir: z.enum(['asc', 'desc']).default('asc'),
  page: z.coerce.number().int().min(0).max(1_000_000).default(0),
  pageSize: z.coerce.number().int().min(1).max(500).default(50),
});
export type FleetQuery = z.infer<typeof FleetQuerySchema>;

export const HealthResponseSchema = z.object({
  ok: z.literal(true),
  version: z.string(),
  /** The control plane's own MQTT link: false while the broker is down or not up yet. */
  mqttConnected: z.boolean().optional(),
  /** With cluster.enabled: which replica answered and whether it is the leader right now. */
  replica: z.object({ id: z.string(), leader: z.boolean() }).optional(),
});

export const LiveFrameInfoSchema = LiveFrameSchema.pick({
  frameId: true,
  capturedAt: true,
  modelVersion: true,
  topK: true,
  width: true,
  height: true,
}).extend({
  deviceId: z.string(),
  cameraId: z
    .string()
    .meta({ description: "the camera that took it ('default' for a device's only camera)" }),
  receivedAt: z.string(),
  bytes: z.number().int().meta({ description: 'size of the JPEG served at …/frame.jpg' }),
});

/** Query of a device's live frame: which camera (the newest frame of any camera when absent). */
export const CameraQuerySchema = z.object({
  camera: CameraIdSchema.optional().meta({
    description: "the camera's id; the newest of any camera when absent",
  }),
});

/** One camera of a device as the control plane last heard of it. */
export const DeviceCameraSchema = z.object({
  cameraId: z.string(),
  lastPrediction: PredictionSchema.nullable(),
  lastPredictionAt: z.string().nullable(),
  /** From the device's last heartbeat (ReportedState.health.cameras). */
  health: CameraHealthSchema.nullable(),
  liveFrame: LiveFrameInfoSchema.nullable(),
});

export const DeviceDetailSchema = DeviceSummarySchema.extend({
  /** Set when the desired version must be fetched through another manifest (a rollback one). */
  desiredManifestPath: z.string().nullable(),
  hardware: z.string().nullable(),
  detail: z.string().nullable(),
  framesProcessed: z.number(),
  samplesQueued: z.number(),
  desiredUpdatedAt: z.string().nullable(),
  predictionsTotal: z.number(),
  lastPrediction: PredictionSchema.nullable(),
  health: DeviceHealthSchema.nullable(),
  /** Why it desires that version: its pin, a rollout in progress, a group/tag target, or nothing. */
  governedBy: DesiredResolutionSchema,
  /** Every camera the device reported, predicted or sent a live frame from, in its order. */
  cameras: z.array(DeviceCameraSchema),
});

export const SampleUploadedSchema = z.object({
  protocol: z.number().int(),
  sampleId: z.string(),
  duplicate: z.boolean(),
  sample: SampleSchema,
});

export const LabelledSampleDetailSchema = z.object({
  sample: LabelledSampleSchema,
  history: z.array(LabelEventSchema),
});
export const ClassListSchema = z.object({ classes: z.array(ClassInfoSchema) });

/** A dataset image as the API shows it (where it is stored stays inside the control plane). */
export const DatasetImagePageSchema = z.object({ images: z.array(DatasetImageSchema), total: z.number() });
export const DatasetImageAddedSchema = z.object({ image: DatasetImageSchema, duplicate: z.boolean() });
export const DatasetVersionDetailSchema = z.object({
  version: DatasetVersionSchema,
  entries: z.array(DatasetVersionEntrySchema),
});

export const LineageResponseSchema = ModelLineageSchema.extend({ createdBy: z.string() });

export const SessionSchema = z.object({ name: z.string(), role: UserRoleSchema });

const FiguresSchema = z.object({
  fps: z.number().nullable(),
  latencyMs: z.number().nullable(),
  lowConfidenceRate: z.number().nullable(),
  trend: z.array(z.number()),
});

export const FleetPageSchema = z.object({
  total: z.number().int(),
  matching: z.number().int(),
  page: z.number().int(),
  pageSize: z.number().int(),
  counts: z.object({
    byVersion: z.record(z.string(), z.number()),
    byStatus: z.record(z.string(), z.number()),
    byRunStatus: z.record(z.string(), z.number()),
    /** Devices on their way to their desired version: `converging` and `in-sync` (none desired: neither). */
    bySync: z.record(z.string(), z.number()),
    /** Devices an operator holds at a version. */
    pinned: z.number().int(),
  }),
  groups: z.array(z.string()),
  tags: z.array(z.string()),
  devices: z.array(DeviceSummarySchema.extend(FiguresSchema.shape)),
});

export const TelemetryPointSchema = z.object({
  modelVersion: z.number(),
  topLabel: z.string(),
  confidence: z.number(),
  latencyMs: z.number(),
  capturedAt: z.string(),
  receivedAt: z.string(),
});

export const DeviceTelemetrySchema = z.object({
  device: DeviceDetailSchema,
  figures: FiguresSchema,
  telemetry: z.array(TelemetryPointSchema),
  events: z.array(DeviceEventSchema.extend({ deviceId: z.string(), receivedAt: z.string() })),
  rollouts: z.array(
    z.object({
      rolloutId: z.string(),
      modelVersion: z.number().nullable(),
      previousVersion: z.number().nullable(),
      state: RolloutDeviceStateSchema,
      reason: z.string().nullable(),
      updatedAt: z.string(),
    }),
  ),
  latestSampleId: z.string().nullable(),
});

export const TryModelFormSchema = z.object({
  image: z.file().meta({ description: 'a JPEG, PNG or WebP image' }),
  modelVersion: z.string().regex(/^[1-9]\d*$/, 'a positive integer'),
  topK: z.string().regex(/^\d+$/).optional(),
});
export const TryResultSchema = z.object({
  modelVersion: z.number().int(),
  topK: z.array(z.object({ label: z.string(), confidence: z.number() })),
  elapsedMs: z.number(),
});

export const AssignedDevicesSchema = z.object({ devices: z.array(z.string()) });
