/**
 * Camera backends, told apart by `type` (one config type per backend), and the frame policy that
 * decides which captured frames the classifier sees.
 */
import { z } from 'zod';

const Fps = z.number().positive().max(120);
const Size = z.number().int().min(16).max(4096);

/** Shared by every backend that runs a capture process writing MJPEG to stdout. */
const ProcessOptions = {
  stallTimeoutMs: z
    .number()
    .int()
    .min(500)
    .default(10_000)
    .describe('No frame for this long → the watchdog kills and restarts the capture process (ms).'),
  maxFrameBytes: z
    .number()
    .int()
    .min(64 * 1024)
    .default(8 * 1024 * 1024)
    .describe('A "frame" larger than this is garbage (a stream without end markers) and is dropped.'),
};

const SyntheticCamera = z.object({
  type: z.literal('synthetic'),
  width: Size.default(160).describe('Frame width (px).'),
  height: Size.default(120).describe('Frame height (px).'),
  fps: Fps.default(5).describe('Frames per second.'),
  seed: z.number().int().default(1).describe('Seed of the scene generator.'),
  classes: z
    .array(z.string())
    .min(2)
    .optional()
    .describe('Class names the synthetic scenes draw (see shared/src/synthetic).'),
  difficulty: z
    .number()
    .min(0)
    .max(1)
    .default(0.5)
    .describe('0 = clean studio scenes; 1 = hardest field conditions.'),
});
const FolderCamera = z.object({
  type: z.literal('folder'),
  path: z
    .string()
    .min(1)
    .describe('A folder, or a glob on the file name part (e.g. /data/frames/cam1-*.jpg).'),
  fps: Fps.default(2).describe('Frames per second replayed.'),
  loop: z.boolean().default(true).describe('Start again after the last image.'),
});
const V4l2Camera = z.object({
  type: z.literal('v4l2'),
  device: z.string().min(1).default('/dev/video0').describe('The USB (UVC) camera device ffmpeg reads.'),
  width: Size.default(640).describe('Capture width (px).'),
  height: Size.default(480).describe('Capture height (px).'),
  fps: Fps.default(15).describe('Capture frames per second.'),
  inputFormat: z
    .string()
    .regex(/^[a-z0-9_]+$/)
    .default('mjpeg')
    .describe(
      "What the camera sends: 'mjpeg' is passed through; raw formats (yuyv422…) are encoded by ffmpeg.",
    ),
  ffmpegPath: z.string().min(1).default('ffmpeg').describe('The ffmpeg executable.'),
  ...ProcessOptions,
});
const RpicamCamera = z.object({
  type: z.literal('rpicam'),
  command: z
    .enum(['rpicam-vid', 'libcamera-vid'])
    .default('rpicam-vid')
    .describe('rpicam-vid on Raspberry Pi OS bookworm; libcamera-vid on bullseye.'),
  width: Size.default(640).describe('Capture width (px).'),
  height: Size.default(480).describe('Capture height (px).'),
  fps: Fps.default(15).describe('Capture frames per second.'),
  extraArgs: z
    .array(z.string())
    .default([])
    .describe('Extra arguments for rpicam-vid (e.g. ["--rotation", "180"]).'),
  ...ProcessOptions,
});
const JetsonCsiCamera = z.object({
  type: z.literal('jetson-csi'),
  sensorId: z
    .number()
    .int()
    .min(0)
    .max(15)
    .default(0)
    .describe("The CSI camera's sensor-id for GStreamer's nvarguscamerasrc."),
  width: Size.default(1280).describe('Capture width (px).'),
  height: Size.default(720).describe('Capture height (px).'),
  fps: Fps.default(15).describe('Capture frames per second.'),
  flipMethod: z
    .number()
    .int()
    .min(0)
    .max(7)
    .default(0)
    .describe('nvvidconv flip-method 0..7 (2 = rotate 180°).'),
  gstLaunchPath: z.string().min(1).default('gst-launch-1.0').describe('The gst-launch-1.0 executable.'),
  ...ProcessOptions,
});
const RtspCamera = z.object({
  type: z.literal('rtsp'),
  url: z
    .string()
    .regex(/^rtsps?:\/\//, 'expected an rtsp:// or rtsps:// URL')
    .describe("The IP camera's rtsp:// or rtsps:// URL (credentials may be in the URL)."),
  transport: z.enum(['tcp', 'udp']).default('tcp').describe('RTSP transport.'),
  fps: Fps.default(5).describe("ffmpeg re-encodes the stream's H.264/H.265 to MJPEG at this rate."),
  ffmpegPath: z.string().min(1).default('ffmpeg').describe('The ffmpeg executable.'),
  ...ProcessOptions,
});
const HttpMjpegCamera = z.object({
  type: z.literal('http-mjpeg'),
  url: z
    .string()
    .regex(/^https?:\/\//, 'expected an http:// or https:// URL')
    .describe("An IP camera's multipart MJPEG URL (credentials may be in the URL)."),
  ffmpegPath: z.string().min(1).default('ffmpeg').describe('The ffmpeg executable.'),
  ...ProcessOptions,
});
const FfmpegCamera = z.object({
  type: z.literal('ffmpeg'),
  input: z
    .array(z.string())
    .min(2)
    .describe(
      'Any ffmpeg input, as ffmpeg arguments (e.g. ["-f", "lavfi", "-i", "testsrc=size=640x480:rate=10"]).',
    ),
  fps: Fps.optional().describe("Output frames per second; the input's own rate when absent."),
  ffmpegPath: z.string().min(1).default('ffmpeg').describe('The ffmpeg executable.'),
  ...ProcessOptions,
});

export const CameraConfigSchema = z.discriminatedUnion('type', [
  SyntheticCamera,
  FolderCamera,
  V4l2Camera,
  RpicamCamera,
  JetsonCsiCamera,
  RtspCamera,
  HttpMjpegCamera,
  FfmpegCamera,
]);

/**
 * The camera union with extra keys on every backend (an entry of the agent's `cameras` list adds
 * its id and per-camera policies), still told apart by `type`.
 */
export function cameraConfigWith<S extends z.ZodRawShape>(shape: S) {
  return z.discriminatedUnion('type', [
    SyntheticCamera.extend(shape),
    FolderCamera.extend(shape),
    V4l2Camera.extend(shape),
    RpicamCamera.extend(shape),
    JetsonCsiCamera.extend(shape),
    RtspCamera.extend(shape),
    HttpMjpegCamera.extend(shape),
    FfmpegCamera.extend(shape),
  ]);
}
export type CameraConfig = z.infer<typeof CameraConfigSchema>;
export type ProcessCameraConfig = Extract<
  CameraConfig,
  { type: 'v4l2' | 'rpicam' | 'jetson-csi' | 'rtsp' | 'http-mjpeg' | 'ffmpeg' }
>;

/** A rectangle as fractions of the frame, so it survives a resolution change. */
export const RegionSchema = z
  .object({
    x: z.number().min(0).max(1).describe('Left edge, as a fraction of the frame width.'),
    y: z.number().min(0).max(1).describe('Top edge, as a fraction of the frame height.'),
    width: z.number().gt(0).max(1).describe('Width, as a fraction of the frame width.'),
    height: z.number().gt(0).max(1).describe('Height, as a fraction of the frame height.'),
  })
  .refine((r) => r.x + r.width <= 1 && r.y + r.height <= 1, 'region must lie inside the frame');
export type Region = z.infer<typeof RegionSchema>;

/** Which captured frames reach the classifier. The newest frame always wins; stale ones are dropped. */
export const FramePolicyObjectSchema = z.object({
  maxFps: z
    .number()
    .positive()
    .max(240)
    .optional()
    .describe('Classify at most this many frames per second; unlimited when absent.'),
  roi: RegionSchema.optional().describe('Classify only this part of the frame (cropped before resizing).'),
  motion: z
    .object({
      enabled: z.boolean().default(false).describe('Skip inference while the scene does not change.'),
      threshold: z
        .number()
        .min(0)
        .max(255)
        .default(4)
        .describe('Mean absolute difference (0..255) of a 32×24 grayscale thumbnail that counts as motion.'),
      keepaliveMs: z
        .number()
        .int()
        .min(0)
        .default(60_000)
        .describe('Classify at least this often even while the scene is static (ms).'),
    })
    .prefault({})
    .describe('Motion gating.'),
});
/** The frame policy with every key defaulted (an absent section is all defaults). */
export const FramePolicySchema = FramePolicyObjectSchema.prefault({});
export type FramePolicy = z.infer<typeof FramePolicySchema>;
