/**
 * Store and forward against the real control plane (HTTP API, SQLite, object store): samples queued
 * while the control plane is down survive an agent restart (the queue reopened from disk), go up
 * most uncertain first once it is back, and each is stored exactly once — a retry whose response
 * was lost is recognised by its idempotency key.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ControlPlane, startControlPlane } from '@edgeloop/control-plane';
import {
  ControlPlaneConfigSchema,
  EnrollResponseSchema,
  PROTOCOL_VERSION,
  type SampleMetadata,
  SampleSchema,
  silentLogger,
} from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlaneClient } from '../../../agent/src/comms/control-plane-client.ts';
import { createSharpImageCodec } from '../../../agent/src/image/sharp-image.ts';
import { SampleQueue } from '../../../agent/src/samples/sample-queue.ts';
import { SampleUploader } from '../../../agent/src/samples/sample-uploader.ts';
import { freePort } from '../../helpers/free-port.ts';

const codec = createSharpImageCodec();
const logger = silentLogger();
let root: string;
let cp: ControlPlane | null = null;
let port = 0;

async function startCp(): Promise<ControlPlane> {
  // Comes back on the same port (the agent's URL): one from below the ephemeral range.
  port ||= await freePort();
  const config = ControlPlaneConfigSchema.parse({
    dataDir: join(root, 'cp'),
    http: { host: '127.0.0.1', port },
    mqtt: { host: '127.0.0.1', port: 0 },
    logLevel: 'silent',
  });
  return startControlPlane(config, { logger });
}

async function admin(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${cp!.adminToken}`);
  headers.set('content-type', 'application/json');
  return fetch(`${cp!.httpUrl}/api/v1${path}`, { ...init, headers });
}

function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (check()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 25);
    };
    tick();
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'edgeloop-saf-'));
  cp = await startCp();
});
afterAll(async () => {
  await cp?.close();
  await rm(root, { recursive: true, force: true });
});

describe('store and forward to the real control plane', () => {
  it('keeps samples through a control-plane outage and an agent restart, and stores each exactly once', async () => {
    // Enroll a device.
    const tokenRes = await admin('/enrollment-tokens', {
      method: 'POST',
      body: JSON.stringify({ protocol: PROTOCOL_VERSION }),
    });
    const { token } = (await tokenRes.json()) as { token: string };
    const enrolled = EnrollResponseSchema.parse(
      await (
        await fetch(`${cp!.httpUrl}/api/v1/devices/enroll`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ protocol: PROTOCOL_VERSION, token, deviceId: 'saf-cam-1' }),
        })
      ).json(),
    );
    const url = cp!.httpUrl;
    const client = new ControlPlaneClient(url, enrolled, { timeoutMs: 2_000 });

    // The control plane goes down; the agent keeps capturing.
    await cp!.close();
    cp = null;
    const queueDir = join(root, 'agent', 'queue');
    let queue = await SampleQueue.open(queueDir, { maxQueued: 50, logger });
    const confidences = [0.5, 0.1, 0.4, 0.2, 0.3];
    const keys: string[] = [];
    for (const [i, confidence] of confidences.entries()) {
      const data = new Uint8Array(32 * 24 * 3).fill(i * 40);
      const metadata: SampleMetadata = {
        protocol: PROTOCOL_VERSION,
        idempotencyKey: `saf-sample-${i}-0123456789`,
        modelVersion: null,
        frameId: `frame-${i}`,
        capturedAt: new Date().toISOString(),
        reason: 'low-confidence',
        topK: [{ label: 'a', confidence }],
      };
      keys.push(metadata.idempotencyKey);
      await queue.add({
        metadata,
        confidence,
        jpeg: await codec.encodeJpeg({ width: 32, height: 24, data }),
      });
    }

    // Uploads fail and retry while it is down.
    const retry = { baseMs: 50, maxMs: 200 };
    const order: string[] = [];
    const uploaderFor = (q: SampleQueue) =>
      new SampleUploader({
        queue: q,
        client,
        logger,
        retry,
        onUploaded: (entry) => order.push(entry.key),
      });
    let uploader = uploaderFor(queue);
    uploader.start();
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(queue.size()).toBe(5);
    expect(uploader.uploaded()).toBe(0);

    // The agent restarts: the queue comes back from disk, whole.
    await uploader.stop();
    queue = await SampleQueue.open(queueDir, { maxQueued: 50, logger });
    expect(queue.size()).toBe(5);
    uploader = uploaderFor(queue);
    uploader.start();

    // The control plane comes back on the same address: everything drains, most uncertain first.
    cp = await startCp();
    await until(() => queue.size() === 0, 'the queue to drain');
    await uploader.stop();
    const byConfidence = keys
      .map((k, i) => ({ k, c: confidences[i] }))
      .sort((a, b) => a.c - b.c)
      .map((x) => x.k);
    expect(order).toEqual(byConfidence);

    // A retry after a lost response (same key again) is recognised, not stored twice.
    const metadata: SampleMetadata = {
      protocol: PROTOCOL_VERSION,
      idempotencyKey: keys[0],
      modelVersion: null,
      frameId: 'frame-0',
      capturedAt: new Date().toISOString(),
      reason: 'low-confidence',
      topK: [{ label: 'a', confidence: 0.5 }],
    };
    const again = await client.uploadSample(
      metadata,
      await codec.encodeJpeg({ width: 32, height: 24, data: new Uint8Array(32 * 24 * 3) }),
    );
    expect(again.duplicate).toBe(true);

    const listed = (await (await admin('/samples?limit=100')).json()) as {
      samples: unknown[];
      total: number;
    };
    const samples = listed.samples.map((s) => SampleSchema.parse(s));
    expect(listed.total).toBe(5);
    expect(samples.map((s) => s.frameId).sort()).toEqual(confidences.map((_, i) => `frame-${i}`));
    expect(new Set(samples.map((s) => s.deviceId))).toEqual(new Set(['saf-cam-1']));
  });
});
