/**
 * The files of a model folder have schemas (shared/src/artifacts): a folder the trainer really
 * writes validates, and a corrupted one is refused with the file and field named wherever it is
 * read — publish, the control plane's registry, model comparison, `--init-from` and `--resume`.
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ApiClient,
  createLogger,
  createRng,
  EdgeloopError,
  generateSigningKey,
  LabelsSchema,
  MODEL_FOLDER,
  ModelMetricsSchema,
  parseArtifactJson,
  parseModelFolder,
  RunStateSchema,
  readModelFolder,
  TrainMetricsSchema,
} from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareModels } from '../../../control-plane/src/models/model-comparison.ts';
import { createModelRegistry } from '../../../control-plane/src/models/model-registry.ts';
import { createLocalObjectStore } from '../../../control-plane/src/object-store/local-object-store.ts';
import { openSqliteStore } from '../../../control-plane/src/store/sqlite-store.ts';
import type { ModelVersionRecord } from '../../../control-plane/src/store/store.ts';
import { encodeRaw } from '../../../trainer/src/data/image-decoder.ts';
import { readModelDir } from '../../../trainer/src/output/model-dir.ts';
import { publishModelDir } from '../../../trainer/src/publish/publish.ts';
import { resumeTraining, type TrainOptions, train } from '../../../trainer/src/train/train.ts';

const logger = createLogger({ level: 'silent', name: 'test' });
let root: string;
/** A model folder `edgeloop train` wrote (1 epoch, 32x32, two colours). */
let trained: string;

/** A 24x24 image of one dominant colour per class, with seeded noise so every file differs. */
async function image(cls: number, seed: number): Promise<Buffer> {
  const rng = createRng(seed);
  const data = new Uint8Array(24 * 24 * 3);
  for (let i = 0; i < data.length; i += 3) {
    for (let c = 0; c < 3; c++) data[i + c] = c === cls ? 150 + rng() * 100 : rng() * 90;
  }
  return encodeRaw({ width: 24, height: 24, data }, 'png');
}

const options = (over: Partial<TrainOptions> = {}): TrainOptions => ({
  dataDir: join(root, 'data'),
  outDir: join(root, 'out', String(Math.random()).slice(2)),
  name: 'colours',
  architecture: 'mobilenet_v1',
  alpha: 0.25,
  inputSize: 32,
  epochs: 1,
  batchSize: 8,
  learningRate: 0.003,
  dropout: 0,
  patience: 5,
  seed: 3,
  cacheDir: null,
  logger,
  ...over,
});

/** A copy of the trained folder with metrics.json changed by `edit`. */
async function withMetrics(edit: (m: Record<string, unknown>) => void): Promise<string> {
  const dir = join(root, 'corrupt', String(Math.random()).slice(2));
  await cp(trained, dir, { recursive: true });
  const metrics = JSON.parse(await readFile(join(dir, 'metrics.json'), 'utf8')) as Record<string, unknown>;
  edit(metrics);
  await writeFile(join(dir, 'metrics.json'), JSON.stringify(metrics));
  return dir;
}

const badInt8 = (m: Record<string, unknown>) => {
  m.quantization = { ...(m.quantization as object), int8Accuracy: 'high' };
};

async function rejection(promise: Promise<unknown>): Promise<EdgeloopError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(EdgeloopError);
  return err as EdgeloopError;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'edgeloop-artifacts-'));
  for (const [cls, label] of ['red', 'green'].entries()) {
    await mkdir(join(root, 'data', label), { recursive: true });
    for (let i = 0; i < 8; i++) {
      await writeFile(join(root, 'data', label, `${i}.png`), await image(cls, cls * 100 + i));
    }
  }
  const o = options();
  await train(o);
  trained = o.outDir;
  // As the int8 step leaves it (without running it: its figures are not what is tested here).
  const metrics = JSON.parse(await readFile(join(trained, 'metrics.json'), 'utf8')) as object;
  const quantization = {
    method: 'minmax',
    calibrationImages: 8,
    evaluatedOn: 'validation',
    images: 4,
    fp32Accuracy: 1,
    int8Accuracy: 0.75,
    agreement: 0.75,
    fp32Bytes: 1000,
    int8Bytes: 300,
    sizeRatio: 0.3,
    fp32LatencyMs: { p50: 1, p95: 2 },
    int8LatencyMs: { p50: 0.5, p95: 1 },
    fusedActivations: 3,
    floatNodes: [],
  };
  await writeFile(join(trained, 'metrics.json'), JSON.stringify({ ...metrics, quantization }));
}, 300_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('artifact schemas', () => {
  it('describe what the trainer really writes', async () => {
    const text = await readFile(join(trained, 'metrics.json'), 'utf8');
    const metrics = parseArtifactJson(TrainMetricsSchema, text, 'metrics.json');
    expect(metrics.labels).toEqual(['green', 'red']);
    expect(metrics.history).toHaveLength(1);
    expect(metrics.quantization?.int8Accuracy).toBe(0.75);
    const folder = await readModelFolder(trained);
    expect(folder[MODEL_FOLDER.labels]).toEqual(['green', 'red']);
    expect(folder[MODEL_FOLDER.manifest].files.map((f) => f.name)).toContain(MODEL_FOLDER.model);
    const state = parseArtifactJson(
      RunStateSchema,
      await readFile(join(trained, 'resume', 'state.json'), 'utf8'),
      'state.json',
    );
    expect(state.state.epoch).toBe(1);
    const model = await readModelDir(trained);
    expect(model.metrics?.valAccuracy).toBeTypeOf('number');
  });

  it('keep fields they do not know and accept the smaller metrics of older or hand-made folders', () => {
    const parsed = ModelMetricsSchema.parse({ accuracy: 0.93, valAccuracy: 0.9, note: { a: 1 } });
    expect(parsed).toEqual({ accuracy: 0.93, valAccuracy: 0.9, note: { a: 1 } });
  });

  it('name the file and the field of every problem', () => {
    expect(() =>
      parseArtifactJson(ModelMetricsSchema, '{"quantization":{"int8Accuracy":"x"}}', 'metrics.json'),
    ).toThrow(/^metrics\.json: .*quantization\.int8Accuracy: expected number, received string/);
    expect(() => parseArtifactJson(ModelMetricsSchema, '{"valAccuracy":1.5}', 'metrics.json')).toThrow(
      /^metrics\.json: valAccuracy: Too big/,
    );
    expect(() => parseArtifactJson(ModelMetricsSchema, '{', 'metrics.json')).toThrow(
      /metrics\.json: not JSON/,
    );
    expect(LabelsSchema.safeParse(['a', 'a']).success).toBe(false);
    expect(LabelsSchema.safeParse(['a']).success).toBe(false);
  });

  it('check that the files of a folder agree on the labels', async () => {
    const manifest = JSON.parse(await readFile(join(trained, 'manifest.json'), 'utf8')) as object;
    const err = (() => {
      try {
        parseModelFolder({ 'manifest.json': manifest, 'labels.json': ['red', 'green'] }, 'runs/7');
      } catch (e) {
        return e as EdgeloopError;
      }
    })();
    expect(err?.code).toBe('MODEL_INVALID');
    expect(err?.message).toMatch(/^runs\/7: labels\.json: expected the manifest's labels \[green, red\]/);
  });
});

describe('a corrupted metrics.json is refused with its file and field', () => {
  const fieldError = /metrics\.json: quantization\.int8Accuracy: expected number/;

  it('by publish, before anything is uploaded', async () => {
    const dir = await withMetrics(badInt8);
    const calls: string[] = [];
    const client = new Proxy({} as ApiClient, {
      get: (_t, name) => () => {
        calls.push(String(name));
        return Promise.resolve([]);
      },
    });
    const err = await rejection(publishModelDir(client, dir, { modelVersion: 1 }));
    expect(err.code).toBe('MODEL_INVALID');
    expect(err.message).toMatch(fieldError);
    expect(err.message).toContain(dir);
    expect(calls).toEqual([]);
  });

  it('by the control plane registry on upload, and by model comparison on stored rows', async () => {
    const store = await openSqliteStore(join(root, 'cp', 'db.sqlite'), logger);
    const registry = createModelRegistry({
      store,
      objects: createLocalObjectStore(join(root, 'cp', 'objects')),
      signingKey: generateSigningKey(),
      manifestTtlDays: 30,
      modelMaxBytes: 50_000_000,
    });
    try {
      const model = await readModelDir(trained);
      const upload = (metrics: object) => ({
        manifestJson: JSON.stringify(model.manifest),
        metricsJson: JSON.stringify(metrics),
        files: model.files,
      });
      const good = JSON.parse(await readFile(join(trained, 'metrics.json'), 'utf8')) as Record<
        string,
        unknown
      >;
      const bad = { ...good };
      badInt8(bad);
      const err = await rejection(registry.publish(upload(bad)));
      expect(err.code).toBe('MODEL_INVALID');
      expect(err.message).toMatch(fieldError);
      expect(await store.models.latestVersion()).toBeNull();
      const wrongLabels = await rejection(registry.publish(upload({ ...good, labels: ['red', 'green'] })));
      expect(wrongLabels.message).toMatch(/metrics\.json: labels: expected the manifest's labels/);

      const summary = await registry.publish(upload(good));
      expect(summary.metrics).toEqual(good);
      const record = (await store.models.get(summary.modelVersion))!;
      // A row stored before uploads were validated.
      const legacy: ModelVersionRecord = {
        ...record,
        modelVersion: 2,
        metrics: {
          ...good,
          perClass: [{ label: 'red', support: 'many' }],
        } as unknown as ModelVersionRecord['metrics'],
      };
      const compared = (() => {
        try {
          return compareModels(record, legacy);
        } catch (e) {
          return e as EdgeloopError;
        }
      })();
      expect(compared).toBeInstanceOf(EdgeloopError);
      expect((compared as EdgeloopError).code).toBe('MODEL_INVALID');
      expect((compared as EdgeloopError).message).toMatch(
        /^metrics\.json of model version 2: perClass\.0\.support: expected number/,
      );
      expect(compareModels(record, record)?.accuracy.delta).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('by train --init-from, before any training', async () => {
    const dir = await withMetrics(badInt8);
    const err = await rejection(train(options({ initFrom: dir })));
    expect(err.code).toBe('MODEL_INVALID');
    expect(err.message).toMatch(fieldError);
  });

  it('by train --init-from when the checkpoint is not a tfjs model', async () => {
    const dir = await withMetrics(() => {});
    await writeFile(join(dir, 'checkpoint', 'model.json'), JSON.stringify({ modelTopology: {} }));
    const err = await rejection(train(options({ initFrom: dir })));
    expect(err.code).toBe('MODEL_INVALID');
    expect(err.message).toMatch(/checkpoint\/model\.json: weightsManifest: expected array/);
  });

  it('by train --resume, for a damaged resume/state.json', async () => {
    const dir = await withMetrics(() => {});
    const statePath = join(dir, 'resume', 'state.json');
    const state = JSON.parse(await readFile(statePath, 'utf8')) as { state: { history: object[] } };
    state.state.history[0] = { ...state.state.history[0], valLoss: 'low' };
    await writeFile(statePath, JSON.stringify(state));
    const err = await rejection(resumeTraining(dir, { logger }));
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.message).toMatch(/resume\/state\.json: state\.history\.0\.valLoss: expected number/);
  });
});
