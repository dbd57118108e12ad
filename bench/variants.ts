/**
 * `edgeloop bench variants [--data DIR] [--rounds 5] [--runs 20] [--threads 1] [--json]`
 *
 * What a device decides at install when a model ships int8 and fp32: the agent's own code
 * (model-variants.ts loadBestVariant, on onnxruntime sessions in worker threads with the execution
 * provider "auto" picks) loads, smoke-tests and times both variants — `--runs` warm inferences
 * each, interleaved — and keeps the faster. Done `--rounds` times per model, so the figure shows
 * how stable the choice is on this machine, not one draw.
 *
 * Models: MobileNet V1 α0.25 at 224 px with the ImageNet backbone of ../shared/data (what `edgeloop
 * train` starts from; 10-class head) and a MobileNet V2 1.0 at 224 px (random weights: latency
 * only), each exported by the trainer and quantized by its quantizer (defaults: float stem for
 * the narrow V1) with 32 calibration photos from DIR/train (clothing-small by default).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger, type Manifest, PROTOCOL_VERSION, sha256Hex } from '@edgeloop/shared';
import { createOnnxBackend } from '../agent/src/inference/onnx-backend.ts';
import { ModelStore } from '../agent/src/model/model-store.ts';
import { loadBestVariant } from '../agent/src/model/model-variants.ts';
import { readDataset } from '../trainer/src/data/dataset.ts';
import { decodeResized } from '../trainer/src/data/image-decoder.ts';
import { buildMobileNet } from '../trainer/src/model/index.ts';
import { applyBaseWeights, disposeBase, readBaseWeights } from '../trainer/src/model/load-base.ts';
import { exportToOnnx, ONNX_OUTPUT_NAME, uint8InputSpec } from '../trainer/src/onnx/export-onnx.ts';
import { evenlySpaced } from '../trainer/src/quantize/calibration-images.ts';
import { quantizeModel } from '../trainer/src/quantize/quantize-model.ts';
import { loadTf } from '../trainer/src/tf/load-tf.ts';

const SCALING = { scale: 1 / 127.5, offset: -1 };
const ROOT = resolve(import.meta.dirname, '..');
const SHARED = join(ROOT, '..', 'shared', 'data');
const SIZE = 224;

function manifestFor(name: string, classes: number, int8: Uint8Array, fp32: Uint8Array): Manifest {
  const now = new Date();
  return {
    protocol: PROTOCOL_VERSION,
    name,
    modelVersion: 1,
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + 86_400_000).toISOString(),
    rollback: false,
    architecture: { family: name, quantization: 'int8' },
    labels: Array.from({ length: classes }, (_, i) => `class-${i}`),
    input: uint8InputSpec(SIZE, SIZE),
    output: { name: ONNX_OUTPUT_NAME, kind: 'probabilities' },
    files: [
      { name: 'model.onnx', role: 'model', sha256: sha256Hex(int8), bytes: int8.byteLength },
      { name: 'model.fp32.onnx', role: 'reference-model', sha256: sha256Hex(fp32), bytes: fp32.byteLength },
    ],
  };
}

export async function benchMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string', default: join(SHARED, 'clothing-small') },
      base: { type: 'string', default: join(SHARED, 'mobilenet_v1_0.25_224') },
      rounds: { type: 'string', default: '5' },
      runs: { type: 'string', default: '20' },
      threads: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
    },
  });
  const rounds = Number(values.rounds);
  const runs = Number(values.runs);
  const threads = Number(values.threads);
  const log = (m: string) => process.stderr.write(`[bench variants] ${m}\n`);
  const started = Date.now();
  const { tf } = await loadTf();

  const dataset = await readDataset(values.data, { seed: 1 });
  const calibration: Uint8Array[] = [];
  for (const item of evenlySpaced(dataset.train, 32))
    calibration.push((await decodeResized(item.path, { width: SIZE, height: SIZE })).data);

  log('building MobileNet V1 α0.25 (ImageNet backbone) and V2 1.0 (random), exporting, quantizing');
  const v1 = buildMobileNet({
    architecture: 'mobilenet_v1',
    alpha: 0.25,
    inputSize: SIZE,
    numClasses: 10,
    dropout: 0,
  });
  const base = await readBaseWeights(tf, values.base);
  applyBaseWeights(tf, v1, base);
  disposeBase(base);
  const v2 = buildMobileNet({
    architecture: 'mobilenet_v2',
    alpha: 1.0,
    inputSize: SIZE,
    numClasses: 1000,
    dropout: 0,
  });
  const models = [];
  for (const [name, model, classes] of [
    ['mobilenet_v1 alpha 0.25 224px', v1, 10],
    ['mobilenet_v2 alpha 1.0 224px', v2, 1000],
  ] as const) {
    const fp32 = exportToOnnx(model, { inputScaling: SCALING, metadata: {} });
    model.dispose();
    const { bytes: int8 } = await quantizeModel(fp32, calibration, uint8InputSpec(SIZE, SIZE), {
      method: 'minmax',
      biasCorrection: false,
    });
    models.push({ name, classes, fp32, int8 });
  }

  // The agent's path: a slot with both files, the real backend (provider "auto"), worker sessions.
  const backend = createOnnxBackend({ executionProviders: 'auto' });
  const executionProvider = await backend.prepare();
  const logger = createLogger({ level: 'warn', name: 'bench-variants' });
  const work = await mkdtemp(join(tmpdir(), 'edgeloop-bench-variants-'));
  const results = [];
  try {
    for (const m of models) {
      const manifest = manifestFor(m.name, m.classes, m.int8, m.fp32);
      const store = new ModelStore(join(work, m.name.replaceAll(' ', '-')));
      const dir = await store.beginDownload('a', manifest);
      await writeFile(join(dir, 'model.onnx'), m.int8);
      await writeFile(join(dir, 'model.fp32.onnx'), m.fp32);
      await store.commitSlot('a', manifest);
      const means: { int8: number; fp32: number; chosen: string }[] = [];
      for (let r = 0; r < rounds; r++) {
        const model = await loadBestVariant({
          backend,
          store,
          slot: 'a',
          manifest,
          threads,
          preference: 'auto',
          runs,
          smokeInput: null,
          logger,
        });
        await model.session.release();
        const ms = (v: string) => model.variant!.timings.find((t) => t.variant === v)!.medianMs!;
        means.push({ int8: ms('int8'), fp32: ms('fp32'), chosen: model.variant!.variant });
        log(`${m.name}: int8 ${ms('int8')} ms, fp32 ${ms('fp32')} ms → ${model.variant!.variant}`);
      }
      const median = (xs: number[]) => {
        const sorted = [...xs].sort((a, b) => a - b);
        const mid = sorted.length / 2;
        return sorted.length % 2 ? sorted[Math.floor(mid)] : (sorted[mid - 1] + sorted[mid]) / 2;
      };
      const round3 = (x: number) => Math.round(x * 1000) / 1000;
      results.push({
        model: m.name,
        int8Bytes: m.int8.byteLength,
        fp32Bytes: m.fp32.byteLength,
        // Per round: each variant's median of `runs` interleaved runs; then the median over rounds.
        int8MsMedian: round3(median(means.map((x) => x.int8))),
        fp32MsMedian: round3(median(means.map((x) => x.fp32))),
        // Paired within a round (both timed under the same load), then the median over rounds.
        int8OverFp32: round3(median(means.map((x) => x.int8 / x.fp32))),
        chosen: {
          int8: means.filter((x) => x.chosen === 'int8').length,
          fp32: means.filter((x) => x.chosen === 'fp32').length,
        },
        rounds: means,
      });
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const result = {
    executionProvider,
    threads,
    runsPerVariant: runs,
    rounds,
    models: results,
    seconds: Math.round((Date.now() - started) / 100) / 10,
  };
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else
    for (const r of results)
      process.stdout.write(
        `${r.model}: int8 ${r.int8MsMedian} ms, fp32 ${r.fp32MsMedian} ms (${r.int8OverFp32}x); chosen int8 ${r.chosen.int8}/${rounds}\n`,
      );
  return 0;
}
