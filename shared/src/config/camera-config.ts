/**
 * Camera backends, told apart by `type` (one config type per backend), and the frame policy that
 * decides which captured frames the classifier sees.
 */
import { z } from 'zod';

const Fps = z.number().positive().max(120);
const Size = z.number().int().min(16).max(4096);

/** Shared by every backend that runs a capture process writing MJPEG to stdout. */
const ProcessOptions = {
  /** No frame for this long → the capture process is killed and restarted (the watchdog). */
  stallTimeoutMs: z.number().int().min(500).default(10_000),
  /** A "frame" larger than this is garbage (a stream without end markers); it is dropped. */
  maxFrameBytes: z
    .number()
    .int()
    .min(64 * 1024)
    .default(8 * 1024 * 1024),
};

export const CameraConfigSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('synthetic'),
    width: Size.default(160),
    height: Size.default(120),
    fps: Fps.default(5),
    seed: z.number().int().default(1),
    /** Class names the synthetic scenes draw (see shared/src/synthetic). */
    classes: z.array(z.string()).min(2).optional(),
    /** 0 = clean studio scenes; 1 = hardest field conditions. */
    difficulty: z.number().min(0).max(1).default(0.5),
  }),
  z.object({
    type: z.literal('folder'),
    /** A folder, or a glob on the file name part (e.g. /data/frames/cam1-*.jpg). */
    path: z.string().min(1),
    fps: Fps.default(2),
    loop: z.boolean().default(true),
  }),
  z.object({
    type: z.literal('v4l2'),
    /** A USB (UVC) camera read by ffmpeg. */
    device: z.string().min(1).default('/dev/video0'),
    width: Size.default(640),
    height: Size.default(480),
    fps: Fps.default(15),
    /** What the camera sends: 'mjpeg' is passed through; raw formats (yuyv422…) are encoded by ffmpeg. */
    inputFormat: z
      .string()
      .regex(/^[a-z0-9_]+$/)
      .default('mjpeg'),
    ffmpegPath: z.string().min(1).default('ffmpeg'),
    ...ProcessOptions,
  }),
  z.object({
    type: z.literal('rpicam'),
    /** rpicam-vid on Raspberry Pi OS bookworm; libcamera-vid on bullseye. */
    command: z.enum(['rpicam-vid', 'libcamera-vid']).default('rpicam-vid'),
    width: Size.default(640),
    height: Size.default(480),
    fps: Fps.default(15),
    /** Extra arguments for rpicam-vid (e.g. ["--rotation", "180"]). */
    extraArgs: z.array(z.string()).default([]),
    ...ProcessOptions,
  }),
  z.object({
    type: z.literal('jetson-csi'),
    /** A CSI camera on Jetson through GStreamer's nvarguscamerasrc. */
    sensorId: z.number().int().min(0).max(15).default(0),
    width: Size.default(1280),
    height: Size.default(720),
    fps: Fps.default(15),
    /** nvvidconv flip-method 0..7 (2 = rotate 180°). */
    flipMethod: z.number().int().min(0).max(7).default(0),
    gstLaunchPath: z.string().min(1).default('gst-launch-1.0'),
    ...ProcessOptions,
  }),
  z.object({
    type: z.literal('rtsp'),
    url: z.string().regex(/^rtsps?:\/\//, 'expected an rtsp:// or rtsps:// URL'),
    transport: z.enum(['tcp', 'udp']).default('tcp'),
    /** ffmpeg re-encodes the stream's H.264/H.265 to MJPEG at this rate. */
    fps: Fps.default(5),
    ffmpegPath: z.string().min(1).default('ffmpeg'),
    ...ProcessOptions,
  }),
  z.object({
    type: z.literal('http-mjpeg'),
    /** An IP camera's multipart MJPEG URL (credentials may be in the URL). */
    url: z.string().regex(/^https?:\/\//, 'expected an http:// or https:// URL'),
    ffmpegPath: z.string().min(1).default('ffmpeg'),
    ...ProcessOptions,
  }),
  z.object({
    type: z.literal('ffmpeg'),
    /** Any ffmpeg input, as ffmpeg arguments (e.g. ["-f", "lavfi", "-i", "testsrc=size=640x480:rate=10"]). */
    input: z.array(z.string()).min(2),
    fps: Fps.optional(),
    ffmpegPath: z.string().min(1).default('ffmpeg'),
    ...ProcessOptions,
  }),
]);
export type CameraConfig = z.infer<typeof CameraConfigSchema>;
export type ProcessCameraConfig = Extract<
  CameraConfig,
  { type: 'v4l2' | 'rpicam' | 'jetson-csi' | 'rtsp' | 'http-mjpeg' | 'ffmpeg' }
>;

/** A rectangle as fractions of the frame, so it survives a resolution change. */
export const RegionSchema = z
  .object({
    x: z.number().min(0).max(1),
    y: z.number().min(0).max(1),
    width: z.number().gt(0).max(1),
    height: z.number().gt(0).max(1),
  })
  .refine((r) => r.x + r.width <= 1 && r.y + r.height <= 1, 'region must lie inside the frame');
export type Region = z.infer<typeof RegionSchema>;

/** Which captured frames reach the classifier. The newest frame always wins; stale ones are dropped. */
export const FramePolicySchema = z
  .object({
    /** Classify at most this many frames per second; unlimited when absent. */
    maxFps: z.number().positive().max(240).optional(),
    /** Classify only this part of the frame. */
    roi: RegionSchema.optional(),
    motion: z
      .object({
        enabled: z.boolean().default(false),
        /** Mean absolute difference (0..255) of a 32×24 grayscale thumbnail that counts as motion. */
        threshold: z.number().min(0).max(255).default(4),
        /** Classify at least this often even while the scene is static. */
        keepaliveMs: z.number().int().min(0).default(60_000),
      })
      .prefault({}),
  })
  .prefault({});
export type FramePolicy = z.infer<typeof FramePolicySchema>;
