/**
 * The whole loop in one process with the real parts — control plane (Hono, aedes, SQLite, the
 * retraining pipeline), three agents running onnxruntime on synthetic camera frames, and the
 * trainer as the pipeline's child process — asserted through the same API a user would look at.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoopApiClient, type Prediction, SampleSchema } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DEMO_OPTIONS } from '../../cli/demo/demo-options.ts';
import { type DemoHandle, runDemo } from '../../cli/demo/run-demo.ts';

describe('the whole loop on one machine', () => {
  let workDir: string;
  let demo: DemoHandle;
  let api: LoopApiClient;
  const lines: string[] = [];
  const predictions: Prediction[] = [];

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'edgeloop-e2e-'));
    demo = await runDemo(
      {
        ...DEFAULT_DEMO_OPTIONS,
        workDir,
        imagesPerClass: 30,
        // Enough epochs that the models are not coin flips: int8 agreement is only meaningful then.
        epochs: 6,
        retrainEpochs: 4,
        // Every frame of a barely trained model is "unsure": plenty of samples, quickly.
        lowConfidenceThreshold: 0.99,
        minSamples: 12,
        collectTimeoutSec: 60,
        measureSec: 2,
        cameraFps: 8,
        // 8 validation images per class: one image moves a class's recall by 12.5%.
        classTolerance: 0.25,
      },
      (line) => lines.push(line),
    );
    api = new LoopApiClient(demo.controlPlane.httpUrl, demo.controlPlane.adminToken);
    for (const agent of demo.agents)
      agent.onEvent((e) => e.type === 'prediction' && predictions.push(e.prediction));
  }, 600_000);

  afterAll(async () => {
    await demo?.close();
    await rm(workDir, { recursive: true, force: true });
  });

  it('ends with both versions rolled out to every agent, in order', async () => {
    const { summary } = demo;
    expect(summary.versions.map((v) => [v.version, v.devicesActive])).toEqual([
      [1, 3],
      [2, 3],
    ]);
    const devices = await api.listDevices();
    expect(devices).toHaveLength(3);
    for (const d of devices) {
      expect(d).toMatchObject({ desiredVersion: 2, reportedVersion: 2, online: true });
    }
    expect((await api.listModels()).map((m) => m.modelVersion)).toEqual([1, 2]);
    expect(demo.agents.map((a) => a.currentModelVersion())).toEqual([2, 2, 2]);
  });

  it('rolls each version out in stages: one canary first, then the rest of the fleet', async () => {
    for (const v of demo.summary.versions) {
      const rollout = await api.getRollout(v.rolloutId);
      expect(rollout).toMatchObject({ modelVersion: v.version, state: 'completed' });
      const canary = rollout.devices.filter((d) => d.wave === 0);
      expect(canary.map((d) => d.deviceId)).toEqual([v.canaryDevice]);
      const canaryActiveAt = Date.parse(canary[0].history.find((t) => t.state === 'active')!.at);
      for (const d of rollout.devices.filter((d) => d.wave > 0)) {
        expect(d.state).toBe('active');
        const notified = d.history.find((t) => t.state === 'notified');
        expect(Date.parse(notified!.at)).toBeGreaterThanOrEqual(canaryActiveAt);
      }
    }
  });

  it('ships int8 models that agree with their fp32 originals', async () => {
    for (const v of demo.summary.versions) {
      // This budget validates on 12-16 images per version: at most two of them may flip.
      expect(v.int8Agreement).toBeGreaterThanOrEqual(0.8);
      expect(Math.abs(v.int8ValAccuracy - v.onnxValAccuracy)).toBeLessThanOrEqual(0.17);
    }
    const manifest = await api.getManifest(2);
    expect(manifest.architecture.quantization).toBe('int8');
    expect(manifest.files.map((f) => [f.name, f.role])).toContainEqual([
      'model.fp32.onnx',
      'reference-model',
    ]);
  });

  it('keeps classifying camera frames with the new version', async () => {
    const before = predictions.length;
    await new Promise((r) => setTimeout(r, 1500));
    const fresh = predictions.slice(before);
    expect(fresh.length).toBeGreaterThan(0);
    expect(new Set(fresh.map((p) => p.modelVersion))).toEqual(new Set([2]));
    for (const p of fresh) expect(p.topK[0].confidence).toBeGreaterThan(0);
  });

  it('stores the low-confidence samples with their metadata and retrains v2 from v1 on a dataset version with them', async () => {
    const samples = await api.allSamples();
    expect(samples.length).toBeGreaterThanOrEqual(12);
    const deviceIds = new Set(demo.summary.devices);
    for (const s of samples) {
      SampleSchema.parse(s);
      expect(deviceIds.has(s.deviceId)).toBe(true);
      expect(s.frameId).toMatch(/^synthetic:\d+:\d+$/);
      expect(s.reason).toBe('low-confidence');
      expect(s.topK.length).toBeGreaterThan(0);
      expect(s.confidence).toBeLessThan(0.99);
      expect(s.width).toBe(160);
    }
    const labelled = samples.filter((s) => s.label !== null);
    expect(labelled.length).toBe(demo.summary.samplesLabelled);
    expect(labelled.every((s) => s.usedInModelVersion === 2)).toBe(true);
    expect(demo.summary.samplesUsedInRetraining).toBe(labelled.length);

    // Both versions come from pipeline runs; v2's lineage names its dataset version, which holds
    // every labelled sample (in training or held out as field-hard), and v1 as the parent it
    // continued from.
    const [v1, v2] = demo.summary.versions;
    const details = await api.modelDetails('2');
    expect(details.lineage).toMatchObject({
      datasetVersion: v2.datasetVersion,
      parentVersion: 1,
      createdBy: 'pipeline',
    });
    expect(details.lineage?.parameters.initFrom).toEqual(expect.stringContaining(v1.pipelineRun));
    const { entries } = await api.datasetVersion(v2.datasetVersion);
    const inVersion = entries.flatMap((e) => (e.sampleId ? [e.sampleId] : []));
    expect(inVersion.sort()).toEqual(labelled.map((s) => s.sampleId).sort());
    expect(v2.fieldSamplesUsed).toBe(entries.filter((e) => e.sampleId && e.split === 'train').length);
    expect(v2.trainImages).toBe(entries.filter((e) => e.split === 'train').length);
    expect(v1.fieldSamplesInDatasetVersion).toBe(0);
    const { bytes } = await api.sampleImage(labelled[0].sampleId);
    expect(bytes.subarray(0, 3)).toEqual(new Uint8Array([0xff, 0xd8, 0xff]));
  });

  it('serves manifests signed by the control plane that the agents verified', async () => {
    const manifest = await api.getManifest(2);
    expect(manifest.signature?.keyId).toBe(demo.controlPlane.signingPublicKey.keyId);
    expect(manifest.files[0].name).toBe('model.onnx');
    expect(lines.some((l) => l.includes('all 3 devices verified, loaded and are running v2'))).toBe(true);
  });
});

describe('the demo work folder', () => {
  it('refuses to wipe a folder it did not make, and leaves it as it was', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'edgeloop-precious-'));
    try {
      await writeFile(join(dir, 'thesis.txt'), 'keep me');
      await expect(runDemo({ ...DEFAULT_DEMO_OPTIONS, workDir: dir }, () => {})).rejects.toThrow(
        /not empty and was not made by the demo/,
      );
      expect(await readFile(join(dir, 'thesis.txt'), 'utf8')).toBe('keep me');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
