/**
 * The learning loop end to end with the real parts: a control plane (HTTP, embedded broker,
 * SQLite, local object store), three agents running onnxruntime on synthetic cameras, the real
 * `edgeloop train` / `edgeloop predict` as the pipeline's child processes. Agents report frames
 * they are unsure of → the samples are labelled through the API → a pipeline run → a registered
 * candidate with its lineage → a canary rollout that puts the candidate on the canary device only.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Agent, startAgent } from '@edgeloop/agent';
import {
  AgentConfigSchema,
  ApiClient,
  createLogger,
  LoopApiClient,
  type PipelineRun,
  PipelineRunSchema,
  SYNTHETIC_CLASSES,
  syntheticFrameLabel,
} from '@edgeloop/shared';
import { generateSyntheticDataset } from '@edgeloop/trainer';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { pipelineCommand } from '../../cli/commands/pipeline.ts';
import { runCommand } from '../../cli/options/run-command.ts';
import { edgeloopArgv } from '../helpers/edgeloop-cli.ts';
import { testManifest } from '../helpers/manifest-fixture.ts';
import { buildTinyClassifier } from '../helpers/tiny-onnx.ts';
import {
  createToken,
  startTestControlPlane,
  type TestControlPlane,
} from '../integration/control-plane/helpers.ts';
import { waitUntil } from '../integration/rollouts/fleet.ts';

const silent = createLogger({ level: 'silent' });
const LABELS = [...SYNTHETIC_CLASSES, 'unsure'];

let t: TestControlPlane;
const agents: Agent[] = [];
afterAll(async () => {
  for (const a of agents) await a.close();
  await t?.stop();
});

/** Uploads `dir/<class>/*.png` into a dataset; returns images per class. */
async function importFolder(dataset: string, dir: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const label of await readdir(dir)) {
    for (const file of await readdir(join(dir, label))) {
      const form = new FormData();
      form.set('label', label);
      form.set('image', new Blob([await readFile(join(dir, label, file))]), file);
      const res = await t.api(`/datasets/${dataset}/images`, { method: 'POST', body: form, admin: true });
      expect(res.status).toBe(201);
      counts.set(label, (counts.get(label) ?? 0) + 1);
    }
  }
  return counts;
}

/**
 * Version 1, the production model the fleet starts with: it ignores the image and always answers
 * 'unsure' with ~27% confidence, so every camera frame is a low-confidence sample. Its fixed-set
 * figures below are exactly what that model scores on the eval set (every image → 'unsure').
 */
async function publishStartingModel(api: ApiClient, evalCounts: Map<string, number>): Promise<void> {
  const model = buildTinyClassifier({
    width: 32,
    height: 32,
    weights: [0, 1, 2].map(() => LABELS.map(() => 0)),
    bias: LABELS.map((l) => (l === 'unsure' ? 0.4 : 0)),
  });
  const support = (l: string) => evalCounts.get(l) ?? 0;
  const fixedSet = {
    accuracy: 0,
    // Per-class figures for the classes the eval set has ('unsure' has no images there).
    perClass: SYNTHETIC_CLASSES.map((label) => ({ label, support: support(label), precision: 0, recall: 0 })),
    confusion: LABELS.map((truth) => LABELS.map((p) => (p === 'unsure' ? support(truth) : 0))),
  };
  await api.publishModel(
    testManifest(model, { modelVersion: 1, name: 'unsure-v1', labels: LABELS }),
    new Map([['model.onnx', model]]),
    { fixedSet },
  );
}

async function run(id: string): Promise<PipelineRun> {
  return PipelineRunSchema.parse(await (await t.api(`/pipeline/runs/${id}`, { admin: true })).json());
}

describe('the learning loop, end to end', () => {
  it('turns low-confidence samples from agents into a registered candidate on a canary device', async () => {
    t = await startTestControlPlane({
      rollouts: { tickMs: 100 },
      logLevel: 'info',
      pipeline: {
        trainCommand: edgeloopArgv('train'),
        predictCommand: edgeloopArgv('predict'),
        candidates: [
          {
            name: 'tiny',
            args: ['--input-size', '32', '--epochs', '3', '--batch-size', '8', '--learning-rate', '0.01'],
          },
        ],
        retries: 0,
        // The default promotion rule (margin 0.01, tolerance 0.05) stays: v1 scores 0 on the
        // fixed set, so any candidate that gets one eval image right is promoted.
        canary: {
          target: { group: 'canary' },
          strategy: { waves: [{ devices: 1 }], soakSeconds: 1, gates: { minPredictions: 5 } },
        },
      },
    });
    const api = new ApiClient(t.cp.httpUrl, t.cp.adminToken);

    const data = join(t.dataDir, 'studio');
    await generateSyntheticDataset(data, { perClass: 6, width: 48, height: 48, difficulty: 0.2, seed: 3 });
    await importFolder('base', join(data, 'train'));
    const evalCounts = await importFolder('eval', join(data, 'validation'));

    const canaryToken = await createToken(t, { uses: 1, group: 'canary' });
    const fleetToken = await createToken(t, { uses: 2, group: 'fleet' });
    for (const [i, id] of ['cam-canary', 'cam-a', 'cam-b'].entries()) {
      const config = AgentConfigSchema.parse({
        controlPlaneUrl: t.cp.httpUrl,
        dataDir: join(t.dataDir, 'agents', id),
        enrollmentToken: i === 0 ? canaryToken : fleetToken,
        deviceId: id,
        trustedKeys: [t.cp.signingPublicKey],
        camera: { type: 'synthetic', width: 48, height: 48, fps: 6, seed: 40 + i },
        samples: { lowConfidenceThreshold: 0.6, maxPerMinute: 120 },
        reportIntervalMs: 300,
        logLevel: 'silent',
      });
      agents.push(
        await startAgent(config, {
          logger: silent,
          retry: { baseMs: 100, maxMs: 500 },
          httpTimeoutMs: 5_000,
        }),
      );
    }

    await publishStartingModel(api, evalCounts);
    await api.assign(1, { all: true });
    const alias = await t.api('/aliases/production', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ protocol: 1, modelVersion: 1 }),
      admin: true,
    });
    expect(alias.status).toBe(200);
    await waitUntil(() => agents.every((a) => a.currentModelVersion() === 1), 'every agent on v1', 30_000);

    // Samples from the cameras, labelled in the labelling queue with the synthetic scene's true
    // class (what a person would pick); the device's pre-label was 'unsure', so each is a correction.
    const labeller = new LoopApiClient(t.cp.httpUrl, t.cp.adminToken, 'e2e-labeller');
    const samples = await waitUntil(
      async () => {
        const all = await api.allSamples({ labelled: false });
        return new Set(all.map((s) => s.deviceId)).size >= 2 && all.length >= 12 ? all : null;
      },
      'low-confidence samples from at least two agents',
      30_000,
    );
    for (const s of samples) {
      expect(s.topK[0].label).toBe('unsure');
      expect(s.modelVersion).toBe(1);
      await labeller.labelAction(s.sampleId, { action: 'correct', label: syntheticFrameLabel(s.frameId)! });
    }

    const res = await t.api('/pipeline/runs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ protocol: 1 }),
      admin: true,
    });
    expect(res.status).toBe(202);
    const runId = PipelineRunSchema.parse(await res.json()).id;
    await t.cp.pipeline.idle();
    const r = await run(runId);
    expect(r.error).toBeNull();
    expect(r.status).toBe('succeeded');
    const step = (name: string) => r.steps.find((s) => s.name === name)!.artifacts;

    const snapshot = step('snapshot') as { datasetVersion: string; counts: Record<string, number> };
    // Every labelled sample is in the version: in training or in the field-hard split.
    expect(snapshot.counts.train + (snapshot.counts['field-hard'] ?? 0)).toBe(24 + samples.length);
    expect(step('register')).toMatchObject({ modelVersion: 2, candidate: 'tiny' });
    expect(step('promote')).toMatchObject({ promoted: true, production: 1 });
    const details = (await (await t.api('/models/2/details', { admin: true })).json()) as {
      lineage: { datasetVersion: string; parentVersion: number | null; createdBy: string };
      aliases: string[];
    };
    expect(details.lineage).toMatchObject({
      datasetVersion: snapshot.datasetVersion,
      parentVersion: 1,
      createdBy: 'pipeline',
    });
    expect(details.aliases.sort()).toEqual(['candidate', 'production']);

    const canary = step('canary') as { rolloutId: string; devices: string[] };
    expect(canary).toMatchObject({ target: { group: 'canary' }, devices: ['cam-canary'], waves: [1] });
    const done = await waitUntil(
      async () => {
        const rollout = await api.getRollout(canary.rolloutId);
        return rollout.state !== 'running' ? rollout : null;
      },
      'the canary rollout to finish',
      30_000,
    );
    expect(done).toMatchObject({ modelVersion: 2, state: 'completed' });
    expect(done.devices).toMatchObject([{ deviceId: 'cam-canary', state: 'active' }]);
    expect(agents.map((a) => a.currentModelVersion())).toEqual([2, 1, 1]);

    // The run shows its rollout where an operator looks: `edgeloop pipeline show`.
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((text) => {
      out.push(String(text));
      return true;
    });
    const code = await runCommand(pipelineCommand, [
      'show',
      runId,
      '--control-plane',
      t.cp.httpUrl,
      '--admin-token',
      t.cp.adminToken,
    ]);
    vi.restoreAllMocks();
    expect(code).toBe(0);
    expect(out.join('')).toContain(canary.rolloutId);
  }, 150_000);
});
