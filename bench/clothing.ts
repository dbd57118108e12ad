/**
 * Transfer learning on real photos: `edgeloop bench clothing [--json] [--data DIR] [--base PATH|URL]`
 * trains on clothing-small (10 classes, 3,068 training / 341 validation photos) from the pretrained
 * ImageNet MobileNet V1 0.25 with the recipe below, exactly as `edgeloop train` would (training, then
 * the int8 step that makes model.onnx the int8 model agents run), and prints one JSON object with the
 * validation accuracy of both exported models (fp32 and int8) and the wall time.
 * Target (issue 3): validation accuracy >= 0.85 for the model agents run (int8), in <= 20 minutes on
 * a 2-core machine.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '@edgeloop/shared';
import { progressPrinter } from '../cli/output/train-progress.ts';
import { quantizeModelDir, type TrainOptions, train } from '../trainer/src/index.ts';

const ROOT = resolve(import.meta.dirname, '..');

/** The recipe; the same as the `edgeloop train` command printed in the JSON and in docs/benchmarks.md. */
export const CLOTHING_RECIPE = {
  architecture: 'mobilenet_v1',
  alpha: 0.25,
  inputSize: 224,
  freeze: { lastBlocks: 1 },
  augmentVariants: 3,
  epochs: 8,
  batchSize: 32,
  learningRate: 0.002,
  dropout: 0.1,
  patience: 3,
  seed: 1,
} as const satisfies Partial<TrainOptions>;

function command(data: string, base: string): string {
  const r = CLOTHING_RECIPE;
  return [
    'npx edgeloop train',
    `--data ${data} --base ${base}`,
    `--architecture ${r.architecture} --alpha ${r.alpha} --input-size ${r.inputSize}`,
    `--freeze last:${r.freeze.lastBlocks} --augment-variants ${r.augmentVariants}`,
    `--epochs ${r.epochs} --batch-size ${r.batchSize} --learning-rate ${r.learningRate}`,
    `--dropout ${r.dropout} --patience ${r.patience} --seed ${r.seed}`,
  ].join(' ');
}

export async function benchMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: 'boolean', default: false },
      data: { type: 'string', default: join(ROOT, '..', 'shared', 'data', 'clothing-small') },
      base: { type: 'string', default: join(ROOT, '..', 'shared', 'data', 'mobilenet_v1_0.25_224') },
      out: { type: 'string' },
    },
  });
  const work = await mkdtemp(join(tmpdir(), 'edgeloop-bench-clothing-'));
  const outDir = values.out ?? join(work, 'model');
  try {
    const started = Date.now();
    const metrics = await train({
      ...CLOTHING_RECIPE,
      freeze: { ...CLOTHING_RECIPE.freeze },
      dataDir: values.data,
      base: values.base,
      outDir,
      name: 'clothing-small',
      // A fresh cache: the figure includes computing the frozen features.
      cacheDir: join(work, 'cache'),
      logger: createLogger({ level: 'warn', name: 'bench-clothing' }),
      onProgress: values.json ? undefined : progressPrinter(process.stderr),
    });
    const trainedAt = Date.now();
    // The int8 step of `edgeloop train`: model.onnx becomes the int8 model, model.fp32.onnx the float.
    const q = await quantizeModelDir(outDir, values.data, { seed: CLOTHING_RECIPE.seed });
    const wallMs = Date.now() - started;
    const result = {
      benchmark: 'clothing',
      command: command(values.data, values.base),
      // What agents run: the int8 model.onnx.
      valAccuracy: q.int8Accuracy,
      int8ValAccuracy: q.int8Accuracy,
      fp32ValAccuracy: metrics.onnxValAccuracy,
      int8Agreement: q.agreement,
      int8SizeRatio: q.sizeRatio,
      quantizeSeconds: Math.round((Date.now() - trainedAt) / 1000),
      tfjsValAccuracy: metrics.valAccuracy,
      macroF1: metrics.macroF1,
      trainAccuracy: metrics.trainAccuracy,
      trainImages: metrics.trainImages,
      valImages: metrics.valImages,
      epochsRun: metrics.epochsRun,
      bestEpoch: metrics.bestEpoch,
      featureSeconds: metrics.bottleneckCache?.seconds ?? null,
      trainSeconds: Math.round(metrics.trainSeconds),
      wallSeconds: Math.round(wallMs / 1000),
      imagesPerSec: Number(metrics.imagesPerSec.toFixed(1)),
      backend: metrics.backend,
      targets: { valAccuracy: 0.85, wallSeconds: 20 * 60 },
      met: q.int8Accuracy >= 0.85 && wallMs <= 20 * 60_000,
    };
    process.stdout.write(
      values.json ? `${JSON.stringify(result)}\n` : `${JSON.stringify(result, null, 2)}\n`,
    );
    return 0;
  } finally {
    if (!values.out) await rm(work, { recursive: true, force: true });
  }
}
