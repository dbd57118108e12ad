/**
 * Camera URLs with passwords never reach an event, a log line, an error answer or the dashboard:
 * one helper (shared/src/redact.ts) applied by the logger to every line, by the control plane to
 * every event it records (an older or foreign agent may send one unredacted) and to every error
 * it answers with.
 */
import { Writable } from 'node:stream';
import { createLogger, redactText, topics } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectDevice,
  type Device,
  enroll,
  startTestControlPlane,
  type TestControlPlane,
} from './helpers.ts';

const URL = 'rtsp://admin:hunter2@10.0.0.5:554/stream1';

describe('redactText', () => {
  it('hides passwords in URLs, bare tokens and secret query parameters', () => {
    expect(redactText(`camera failed: ${URL}: Connection refused`)).toBe(
      'camera failed: rtsp://admin:***@10.0.0.5:554/stream1: Connection refused',
    );
    expect(redactText('rtsp://admin:p@ss@cam/x')).toBe('rtsp://admin:***@cam/x');
    expect(redactText('http://apitoken@cam/snap.jpg')).toBe('http://***@cam/snap.jpg');
    expect(redactText('http://cam/snap.cgi?user=admin&pwd=hunter2&w=640')).toBe(
      'http://cam/snap.cgi?user=admin&pwd=***&w=640',
    );
    expect(redactText('plain text, mail a@b.c')).toBe('plain text, mail a@b.c');
  });

  it('is applied by the logger to every line, error messages and stacks included', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write: (chunk: Buffer, _e, done) => {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger({ destination: sink });
    logger.error(
      { err: new Error(`ffmpeg: ${URL}: 401 Unauthorized`), url: URL },
      `capture of ${URL} failed`,
    );
    expect(lines.join('')).toContain('rtsp://admin:***@10.0.0.5');
    expect(lines.join('')).not.toContain('hunter2');
  });
});

describe('events and state details from a device that did not redact', () => {
  let t: TestControlPlane;
  let device: Device;
  beforeAll(async () => {
    t = await startTestControlPlane();
    device = await enroll(t, 'cam-old');
  });
  afterAll(async () => {
    await t.stop();
  });

  it('are stored and shown without the password', async () => {
    const client = await connectDevice(t.cp.mqttUrl, device);
    const event = {
      protocol: 1,
      type: 'camera-error',
      message: `cannot open ${URL}`,
      at: new Date().toISOString(),
    };
    await client.publishAsync(topics.events(device.deviceId), JSON.stringify(event), { qos: 1 });
    await client.endAsync();
    let shown = '';
    const arrived = (text: string) => text.includes('cannot open') && text.includes('capture failed');
    for (let i = 0; i < 100 && !arrived(shown); i++) {
      shown = await (await t.api(`/devices/${device.deviceId}/telemetry`, { admin: true })).text();
      if (!arrived(shown)) await new Promise((r) => setTimeout(r, 50));
    }
    expect(shown).toContain('rtsp://admin:***@10.0.0.5:554/stream1');
    expect(shown).not.toContain('hunter2');
    expect(JSON.stringify(t.logs.entries)).not.toContain('hunter2');
  });
});
