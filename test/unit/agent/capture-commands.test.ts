import { CameraConfigSchema, type ProcessCameraConfig } from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import { captureCommand } from '../../../agent/src/camera/capture-commands.ts';

const cmd = (config: Record<string, unknown>) =>
  captureCommand(CameraConfigSchema.parse(config) as ProcessCameraConfig);

describe('capture commands', () => {
  it('passes a USB camera’s MJPEG through and encodes raw formats', () => {
    const mjpeg = cmd({ type: 'v4l2', device: '/dev/video2', width: 1280, height: 720, fps: 30 });
    expect(mjpeg.command).toBe('ffmpeg');
    expect(mjpeg.args.join(' ')).toContain(
      '-f v4l2 -input_format mjpeg -video_size 1280x720 -framerate 30 -i /dev/video2',
    );
    expect(mjpeg.args.join(' ')).toContain('-c:v copy -bsf:v mjpeg2jpeg -f mjpeg pipe:1');
    const raw = cmd({ type: 'v4l2', inputFormat: 'yuyv422', fps: 5 });
    expect(raw.args.join(' ')).toContain('-vf fps=5 -c:v mjpeg');
  });

  it('runs rpicam-vid with MJPEG to stdout', () => {
    const pi = cmd({ type: 'rpicam', command: 'libcamera-vid', extraArgs: ['--hflip'] });
    expect(pi.command).toBe('libcamera-vid');
    expect(pi.args.join(' ')).toBe(
      '--timeout 0 --nopreview --codec mjpeg --width 640 --height 480 --framerate 15 --hflip --output -',
    );
  });

  it('builds the Jetson GStreamer pipeline ending in fdsink', () => {
    const jetson = cmd({ type: 'jetson-csi', sensorId: 1, fps: 30, flipMethod: 2 });
    expect(jetson.command).toBe('gst-launch-1.0');
    expect(jetson.args.join(' ')).toBe(
      '-q -e nvarguscamerasrc sensor-id=1 ! video/x-raw(memory:NVMM),width=1280,height=720,framerate=30/1 ! ' +
        'nvvidconv flip-method=2 ! video/x-raw,format=I420 ! jpegenc quality=85 ! fdsink fd=1',
    );
  });

  it('re-encodes RTSP at the configured rate and keeps credentials out of logs', () => {
    const rtsp = cmd({ type: 'rtsp', url: 'rtsp://admin:secret@10.0.0.9:554/stream1', fps: 2 });
    expect(rtsp.args).toContain('rtsp://admin:secret@10.0.0.9:554/stream1');
    expect(rtsp.args.join(' ')).toContain('-rtsp_transport tcp');
    expect(rtsp.describe).toBe('rtsp rtsp://admin:***@10.0.0.9:554/stream1');
    expect(() => cmd({ type: 'rtsp', url: 'http://x' })).toThrow(/rtsp:\/\//);
  });
});
