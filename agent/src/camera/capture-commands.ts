/**
 * The capture process each camera backend runs. Every one writes a bare MJPEG stream (JPEG after
 * JPEG) to stdout, so one framer and one watchdog serve them all. Pure functions: tests check the
 * argument lists without running the tools.
 */
import { type ProcessCameraConfig, redactText } from '@edgeloop/shared';

export interface CaptureCommand {
  command: string;
  args: string[];
  /** What to call the source in logs and events, without credentials. */
  describe: string;
}

/** ffmpeg output: MJPEG on stdout, quiet except for errors, no audio. */
function ffmpegOutput(encode: boolean, fps?: number): string[] {
  // Many USB cameras send MJPEG without Huffman tables (the AVI1 variant), which libjpeg cannot
  // decode on its own; mjpeg2jpeg adds the standard tables (ITU T.81 Annex K.3) when copying.
  const video = encode
    ? ['-c:v', 'mjpeg', '-q:v', '5', '-pix_fmt', 'yuvj420p']
    : ['-c:v', 'copy', '-bsf:v', 'mjpeg2jpeg'];
  const rate = encode && fps !== undefined ? ['-vf', `fps=${fps}`] : [];
  return ['-an', ...rate, ...video, '-f', 'mjpeg', 'pipe:1'];
}

const FFMPEG_COMMON = ['-hide_banner', '-nostdin', '-loglevel', 'error'];

export function captureCommand(config: ProcessCameraConfig): CaptureCommand {
  switch (config.type) {
    case 'v4l2': {
      const passthrough = config.inputFormat === 'mjpeg';
      return {
        command: config.ffmpegPath,
        args: [
          ...FFMPEG_COMMON,
          '-f',
          'v4l2',
          '-input_format',
          config.inputFormat,
          '-video_size',
          `${config.width}x${config.height}`,
          '-framerate',
          String(config.fps),
          '-i',
          config.device,
          ...ffmpegOutput(!passthrough, config.fps),
        ],
        describe: `v4l2 ${config.device}`,
      };
    }
    case 'rpicam':
      return {
        command: config.command,
        args: [
          '--timeout',
          '0',
          '--nopreview',
          '--codec',
          'mjpeg',
          '--width',
          String(config.width),
          '--height',
          String(config.height),
          '--framerate',
          String(config.fps),
          ...config.extraArgs,
          '--output',
          '-',
        ],
        describe: `${config.command} ${config.width}x${config.height}`,
      };
    case 'jetson-csi':
      // gst-launch takes the pipeline as separate words; '!' links elements.
      return {
        command: config.gstLaunchPath,
        args: [
          '-q',
          '-e',
          'nvarguscamerasrc',
          `sensor-id=${config.sensorId}`,
          '!',
          `video/x-raw(memory:NVMM),width=${config.width},height=${config.height},framerate=${Math.round(config.fps)}/1`,
          '!',
          'nvvidconv',
          `flip-method=${config.flipMethod}`,
          '!',
          'video/x-raw,format=I420',
          '!',
          'jpegenc',
          'quality=85',
          '!',
          'fdsink',
          'fd=1',
        ],
        describe: `jetson csi sensor ${config.sensorId}`,
      };
    case 'rtsp':
      return {
        command: config.ffmpegPath,
        args: [
          ...FFMPEG_COMMON,
          '-rtsp_transport',
          config.transport,
          '-timeout',
          String(Math.round(config.stallTimeoutMs * 1000)),
          '-i',
          config.url,
          ...ffmpegOutput(true, config.fps),
        ],
        describe: `rtsp ${redactText(config.url)}`,
      };
    case 'http-mjpeg':
      // The camera already sends JPEGs: copy them, never re-encode.
      return {
        command: config.ffmpegPath,
        args: [
          ...FFMPEG_COMMON,
          '-rw_timeout',
          String(Math.round(config.stallTimeoutMs * 1000)),
          '-f',
          'mpjpeg',
          '-i',
          config.url,
          ...ffmpegOutput(false),
        ],
        describe: `http ${redactText(config.url)}`,
      };
    case 'ffmpeg':
      return {
        command: config.ffmpegPath,
        args: [...FFMPEG_COMMON, ...config.input, ...ffmpegOutput(true, config.fps)],
        describe: `ffmpeg ${config.input.join(' ').slice(0, 120)}`,
      };
  }
}
