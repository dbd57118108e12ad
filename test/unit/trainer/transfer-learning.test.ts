/**
 * The trainer end to end on tiny data it writes itself: a tiny "pretrained" MobileNet saved as a
 * tfjs checkpoint (and served over loopback HTTP) as --base, frozen blocks with the bottleneck cache,
 * determinism, resume, and what the output folder holds.
 */

import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { createLogger, createRng } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRaw } from '../../../trainer/src/data/image-decoder.ts';
import { buildMobileNet } from '../../../trainer/src/model/index.ts';
import { saveCheckpoint } from '../../../trainer/src/output/checkpoint.ts';
import type { TrainMetrics } from '../../../trainer/src/output/model-dir.ts';
import { loadTf } from '../../../trainer/src/tf/load-tf.ts';
import { resumeTraining, type TrainOptions, train } from '../../../trainer/src/train/train.ts';

let root: string;
let server: Server;
let baseUrl: string;
const logger = createLogger({ level: 'silent', name: 'test' });

/** A 24x24 image of one dominant colour per class, with seeded noise so every file differs. */
async function image(cls: number, seed: number): Promise<Buffer> {
  const rng = createRng(seed);
  const data = new Uint8Array(24 * 24 * 3);
  for (let i = 0; i < data.length; i += 3) {
    for (let c = 0; c < 3; c++) data[i + c] = c === cls ? 150 + rng() * 100 : rng() * 90;
  }
  return encodeRaw({ width: 24, height: 24, data }, 'png');
}

async function writeDataset(dir: string, perClass: number[]): Promise<void> {
  for (const [cls, n] of perClass.entries()) {
    const label = ['red', 'green', 'blue'][cls];
    await mkdir(join(dir, label), { recursive: true });
    for (let i = 0; i < n; i++)
      await writeFile(join(dir, label, `${i}.png`), await image(cls, cls * 1000 + i));
  }
}

async function saveBase(dir: string, alpha: 0.25 | 0.5): Promise<void> {
  const { tf } = await loadTf();
  const model = buildMobileNet({
    architecture: 'mobilenet_v1',
    alpha,
    inputSize: 32,
    numClasses: 5,
    dropout: 0,
  });
  await saveCheckpoint(tf, model, dir);
  model.dispose();
}

const options = (over: Partial<TrainOptions>): TrainOptions => ({
  dataDir: join(root, 'data'),
  outDir: join(root, 'out', String(Math.random()).slice(2)),
  name: 'colours',
  architecture: 'mobilenet_v1',
  alpha: 0.25,
  inputSize: 32,
  epochs: 2,
  batchSize: 8,
  learningRate: 0.003,
  dropout: 0.2,
  patience: 5,
  seed: 5,
  logger,
  ...over,
});

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'edgeloop-transfer-'));
  // Imbalanced: 20 red, 10 green, 10 blue.
  await writeDataset(join(root, 'data'), [20, 10, 10]);
  await saveBase(join(root, 'base'), 0.25);
  await saveBase(join(root, 'base-wide'), 0.5);
  const folder = join(root, 'base', 'checkpoint');
  server = createServer(async (req, res) => {
    const bytes = await readFile(join(folder, (req.url ?? '/').slice(1))).catch(() => null);
    res.writeHead(bytes ? 200 : 404, {
      'content-type': extname(req.url ?? '') === '.json' ? 'application/json' : 'application/octet-stream',
    });
    res.end(bytes ?? 'not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/model.json`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(root, { recursive: true, force: true });
});

describe('train with --base and --freeze', () => {
  let first: TrainMetrics;
  let firstDir: string;
  const cacheDir = () => join(root, 'cache');
  const baseRun = () =>
    options({ base: join(root, 'base'), freeze: { lastBlocks: 1 }, cacheDir: cacheDir(), epochs: 3 });

  it('loads the base by layer name, caches frozen features and writes the output folder', async () => {
    const o = baseRun();
    firstDir = o.outDir;
    first = await train(o);
    expect(first.base?.loaded).toBeGreaterThan(100);
    expect(first.base?.headInitialised).toEqual(['predictions/kernel', 'predictions/bias']);
    expect(first.bottleneckCache).toMatchObject({
      cutLayer: 'conv_pw_12_relu',
      cached: true,
      hits: 0,
      misses: 40,
    });
    expect((await readdir(o.outDir)).sort()).toEqual(
      expect.arrayContaining([
        'model.onnx',
        'labels.json',
        'metrics.json',
        'manifest.json',
        'curves.svg',
        'confusion.svg',
      ]),
    );
    const metrics = JSON.parse(await readFile(join(o.outDir, 'metrics.json'), 'utf8')) as TrainMetrics;
    expect(metrics.history).toHaveLength(3);
    expect(metrics.history[0]).toMatchObject({ epoch: 1, learningRate: expect.any(Number) });
    expect(metrics.classCounts).toEqual({
      train: { blue: 8, green: 8, red: 16 },
      validation: { blue: 1, green: 1, red: 2 },
      test: { blue: 1, green: 1, red: 2 },
    });
    // Imbalance handled by default: the rare classes weigh more than the common one.
    expect(metrics.balance).toBe('weights');
    expect(metrics.classWeights.green).toBeGreaterThan(1);
    expect(metrics.classWeights.red).toBeLessThan(1);
    expect(metrics.perClass.map((c) => Object.keys(c).sort())).toEqual(
      new Array(3).fill(['f1', 'label', 'precision', 'recall', 'support']),
    );
    expect(metrics.confusion.flat().reduce((a, b) => a + b, 0)).toBe(4);
    expect(metrics.test?.confusion.flat().reduce((a, b) => a + b, 0)).toBe(4);
    expect(typeof metrics.trainAccuracy).toBe('number');
    expect(typeof metrics.testAccuracy).toBe('number');
    expect(metrics.backend).toMatch(/CPU|TensorFlow/);
    expect(metrics.imagesPerSec).toBeGreaterThan(0);
    expect(metrics.normalization).toEqual({ mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5] });
    expect(metrics.onnxMaxAbsDiff).toBeLessThan(1e-4);
    const curves = await readFile(join(o.outDir, 'curves.svg'), 'utf8');
    expect(curves).toMatch(/^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(curves.match(/<polyline /g)).toHaveLength(4);
    const confusion = await readFile(join(o.outDir, 'confusion.svg'), 'utf8');
    expect(confusion.match(/<rect x=/g)).toHaveLength(9);
  });

  it('gives identical metrics for the same seed, reading every feature from the cache', async () => {
    const again = await train(baseRun());
    expect(again.bottleneckCache).toMatchObject({ hits: 40, misses: 0 });
    expect(again.history.map(({ seconds: _s, imagesPerSec: _i, ...h }) => h)).toEqual(
      first.history.map(({ seconds: _s, imagesPerSec: _i, ...h }) => h),
    );
    expect(again.confusion).toEqual(first.confusion);
    expect(again.valAccuracy).toBe(first.valAccuracy);
  });

  it('recomputes only the features of a changed image, and all of them for another base', async () => {
    const copy = join(root, 'data-changed');
    await cp(join(root, 'data'), copy, { recursive: true });
    await writeFile(join(copy, 'red', '3.png'), await image(0, 99_999));
    const changed = await train({ ...baseRun(), dataDir: copy, epochs: 1 });
    expect(changed.bottleneckCache).toMatchObject({ hits: 39, misses: 1 });
    const otherBase = join(root, 'base-retrained');
    await saveBase(otherBase, 0.25); // same shapes, other (random) weights
    const rebased = await train({ ...baseRun(), base: otherBase, epochs: 1 });
    expect(rebased.bottleneckCache).toMatchObject({ hits: 0, misses: 40 });
  });

  it('loads the same base from an http URL', async () => {
    const viaUrl = await train({ ...baseRun(), base: baseUrl, epochs: 1 });
    expect(viaUrl.base?.loaded).toBe(first.base?.loaded);
    expect(viaUrl.base?.sha256).toBe(first.base?.sha256);
  });

  it('resumes an interrupted run and ends exactly where an uninterrupted one does', async () => {
    const o = baseRun();
    const interrupted = await train({
      ...o,
      onProgress: (p) => {
        if (p.phase === 'train' && p.epoch === 3) throw new Error('power cut');
      },
    }).catch((e: Error) => e);
    expect((interrupted as Error).message).toBe('power cut');
    const resumed = await resumeTraining(o.outDir, { logger });
    const timeless = (m: TrainMetrics) => m.history.map(({ seconds: _s, imagesPerSec: _i, ...h }) => h);
    expect(timeless(resumed)).toEqual(timeless(first));
    expect(resumed.confusion).toEqual(first.confusion);
    expect(JSON.parse(await readFile(join(o.outDir, 'metrics.json'), 'utf8')).epochsRun).toBe(3);
    expect(firstDir).not.toBe(o.outDir);
  });
});

describe('bad bases', () => {
  it('lists the weights of a base whose shapes do not fit', async () => {
    const err = await train(options({ base: join(root, 'base-wide') })).catch((e) => e);
    expect(err.code).toBe('MODEL_INVALID');
    expect(err.message).toMatch(/does not fit this architecture/);
    expect(err.message).toMatch(/conv1\/kernel: model \[3,3,3,8\] vs base \[3,3,3,16\]/);
    expect(err.message).toMatch(/conv_pw_13\/kernel/);
  });

  it('says an unreachable base URL is unreachable', async () => {
    const dead = createServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const port = (dead.address() as AddressInfo).port;
    await new Promise((resolve) => dead.close(resolve));
    const err = await train(options({ base: `http://127.0.0.1:${port}/model.json` })).catch((e) => e);
    expect(err.code).toBe('UPSTREAM_FAILED');
    expect(err.message).toMatch(/base model URL unreachable/);
  });
});

describe('train from scratch', () => {
  it('normalises by the training split per channel and exports that into the ONNX graph', async () => {
    const m = await train(options({ epochs: 1, augment: false }));
    expect(m.freeze).toBe('none');
    expect(m.base).toBeNull();
    expect(m.normalization?.mean[0]).toBeGreaterThan(m.normalization?.mean[1] ?? 0); // red is the big class
    expect(m.onnxMaxAbsDiff).toBeLessThan(1e-4);
    expect(m.onnxAgreement).toBe(1);
  });
});
