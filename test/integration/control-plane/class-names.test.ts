/**
 * A class name becomes a folder when the pipeline exports a dataset. `../../etc`-style labels are
 * refused at every entry point (MQTT predictions, sample uploads, label actions, classes, dataset
 * images and imports, model uploads), and a bad label already in the database (written before the
 * rule existed) stops the export instead of writing outside its folder.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PipelineRunSchema, sha256Hex, topics } from '@edgeloop/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  connectDevice,
  type Device,
  enroll,
  jsonBody,
  startTestControlPlane,
  type TestControlPlane,
} from './helpers.ts';
import { sampleFrom, sampleMetadata, testImage, uploadSample } from './sample-helpers.ts';

const EVIL = ['../../etc', '..', 'a/b', '.hidden', 'x\\y'];

let t: TestControlPlane;
let device: Device;
beforeEach(async () => {
  t = await startTestControlPlane({
    pipeline: {
      trainCommand: ['node', '-e', 'process.exit(1)'],
      predictCommand: ['node', '-e', '0'],
      retries: 0,
    },
  });
  device = await enroll(t, 'cam-1');
});
afterEach(async () => {
  await t.stop();
});

describe('class names at every entry point', () => {
  it('drops an MQTT prediction whose label is a path', async () => {
    const client = await connectDevice(t.cp.mqttUrl, device);
    const prediction = {
      protocol: 1,
      modelVersion: 1,
      frameId: 'f1',
      capturedAt: new Date().toISOString(),
      topK: [{ label: '../../etc', confidence: 0.9 }],
      latencyMs: 3,
    };
    await client.publishAsync(topics.predictions(device.deviceId), JSON.stringify(prediction), { qos: 1 });
    const entry = await t.logs.waitFor(
      (e) => e.msg === 'dropped malformed payload' && e.kind === 'predictions',
    );
    expect(String(entry.reason)).toMatch(/label/);
    await client.endAsync();
  });

  it('refuses labels that are paths through the HTTP API', async () => {
    for (const label of EVIL) {
      const meta = sampleMetadata(`evil-${label}`, [{ label, confidence: 0.9 }]);
      expect((await uploadSample(t, device, meta, await testImage(1))).status, label).toBe(400);

      expect(
        (await t.api('/classes', { ...jsonBody({ protocol: 1, name: label }), admin: true })).status,
      ).toBe(400);

      const form = new FormData();
      form.set('label', label);
      form.set('image', new Blob([await testImage(2)]), 'a.png');
      expect((await t.api('/datasets/base/images', { method: 'POST', body: form, admin: true })).status).toBe(
        400,
      );

      const urls = {
        protocol: 1,
        source: { kind: 'urls', items: [{ url: 'http://example.test/a.png', label }] },
      };
      expect((await t.api('/datasets/base/import', { ...jsonBody(urls), admin: true })).status).toBe(400);
    }
    const sampleId = await sampleFrom(t, device, 3, 'cat', 0.4, 'dog');
    for (const label of EVIL) {
      const body = { protocol: 1, action: 'correct', label, addClass: true };
      const res = await t.api(`/labelling/samples/${sampleId}`, { ...jsonBody(body), admin: true });
      expect(res.status, label).toBe(400);
    }
    const classes = (await (await t.api('/classes', { admin: true })).json()) as {
      classes: { name: string }[];
    };
    expect(classes.classes.map((c) => c.name).filter((n) => EVIL.includes(n))).toEqual([]);
  });

  it('refuses to export a stored label that would leave the export folder', async () => {
    // A row from before the rule: the schema would refuse it today, the export must too.
    const bytes = await testImage(9);
    const sha256 = sha256Hex(bytes);
    await t.cp.objects.put(`datasets/${sha256}.png`, bytes);
    for (const [i, label] of ['../../../../escaped', 'ok'].entries()) {
      const other = i === 0 ? bytes : await testImage(10);
      const hash = sha256Hex(other);
      if (i > 0) await t.cp.objects.put(`datasets/${hash}.png`, other);
      await t.cp.store.datasets.insertImage({
        dataset: 'base',
        sha256: hash,
        label,
        bytes: other.byteLength,
        width: 24,
        height: 24,
        source: 'legacy',
        addedBy: 'admin',
        addedAt: new Date().toISOString(),
        objectKey: `datasets/${hash}.png`,
        contentType: 'image/png',
      });
    }
    const res = await t.api('/pipeline/runs', { ...jsonBody({ protocol: 1 }), admin: true });
    expect(res.status).toBe(202);
    const { id } = PipelineRunSchema.parse(await res.json());
    await t.cp.pipeline.idle();
    const run = PipelineRunSchema.parse(await (await t.api(`/pipeline/runs/${id}`, { admin: true })).json());
    const exportStep = run.steps.find((s) => s.name === 'export')!;
    expect(exportStep.status).toBe('failed');
    expect(exportStep.log).toMatch(/not a plain file or folder name|leaves/);
    // Nothing was written beside or above the run's folder.
    const written = (dir: string) =>
      existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String) : [];
    for (const dir of [t.dataDir, join(t.dataDir, 'pipeline'), join(t.dataDir, 'pipeline', id)]) {
      expect(written(dir).filter((p) => p.includes('escaped'))).toEqual([]);
    }
  });
});
