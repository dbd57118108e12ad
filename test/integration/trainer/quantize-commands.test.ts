/**
 * The int8 workflow through the `edgeloop` command as a user runs it: train → int8 model folder,
 * quantize (our model and an imported float NCHW one), evaluate --json with --reference, the
 * errors a user meets, and import-model into a real control plane.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, SYNTHETIC_CLASSES } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../../cli/main.ts';
import { generateSyntheticDataset } from '../../../trainer/src/data/synthetic-dataset.ts';
import { encodeModel } from '../../../trainer/src/onnx/onnx-proto.ts';
import { decodeModel } from '../../../trainer/src/onnx/onnx-reader.ts';
import { quantizeModelDir } from '../../../trainer/src/quantize/quantize-model-dir.ts';
import { train } from '../../../trainer/src/train/train.ts';
import { exportedMobileNet } from '../../helpers/quantize-fixtures.ts';
import { startTestControlPlane, type TestControlPlane } from '../control-plane/helpers.ts';

const work = mkdtempSync(join(tmpdir(), 'edgeloop-qcli-'));
const dataDir = join(work, 'shapes');
const LABELS = [...SYNTHETIC_CLASSES];

/** Runs the edgeloop CLI in-process and captures what it prints. */
async function edgeloop(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    return { code: await main(argv), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** An fp32 classifier as third parties ship them: float NCHW input with mean/std, no edgeloop metadata. */
function foreignModel(path: string): void {
  const { bytes } = exportedMobileNet(
    { architecture: 'mobilenet_v2', alpha: 0.25, inputSize: 32, numClasses: LABELS.length, dropout: 0.1 },
    9,
    { floatInput: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } },
  );
  const model = decodeModel(bytes);
  model.metadata = {};
  model.producerName = 'someone-else';
  writeFileSync(path, encodeModel(model));
}

const MEAN_STD = JSON.stringify({
  normalization: { kind: 'mean-std', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
});

beforeAll(async () => {
  await generateSyntheticDataset(dataDir, { perClass: 24, width: 48, height: 48, difficulty: 0.1, seed: 5 });
  writeFileSync(join(work, 'labels.json'), JSON.stringify(LABELS));
  foreignModel(join(work, 'foreign.onnx'));
  mkdirSync(join(work, 'empty'));
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('train output: int8 model.onnx plus the fp32 reference', () => {
  it('agrees with the fp32 model it came from and records both in metrics and manifest', async () => {
    const outDir = join(work, 'model');
    await train({
      dataDir,
      outDir,
      name: 'shapes',
      architecture: 'mobilenet_v1',
      alpha: 0.25,
      inputSize: 32,
      epochs: 4,
      batchSize: 16,
      learningRate: 0.01,
      dropout: 0.1,
      patience: 4,
      seed: 3,
      logger: createLogger({ level: 'silent', name: 'test' }),
    });
    const q = await quantizeModelDir(outDir, dataDir, { seed: 3 });
    // A 4-epoch 32 px model validated on ~8-10 images: near-tied classes can flip one image, no
    // more. The >= 99% target on real photos is bench/quantize.ts's (docs/benchmarks.md).
    expect(q.agreement * q.images).toBeGreaterThanOrEqual(q.images - 1);
    expect(Math.abs(q.int8Accuracy - q.fp32Accuracy) * q.images).toBeLessThanOrEqual(1);
    expect(q.int8Bytes).toBeLessThan(q.fp32Bytes * 0.5);
    const metrics = JSON.parse(readFileSync(join(outDir, 'metrics.json'), 'utf8'));
    expect(metrics.quantization).toMatchObject({ agreement: q.agreement, int8Bytes: q.int8Bytes });
    expect(metrics.quantization.int8LatencyMs.p50).toBeGreaterThan(0);
    const manifest = JSON.parse(readFileSync(join(outDir, 'manifest.json'), 'utf8'));
    expect(manifest.architecture.quantization).toBe('int8');
    expect(manifest.files.map((f: { name: string; role: string }) => [f.name, f.role])).toEqual([
      ['model.onnx', 'model'],
      ['model.fp32.onnx', 'reference-model'],
    ]);
    // Calibration: T fitted on validation and folded into both models; the thresholds devices get
    // come from the int8 model's own confidences and travel in the manifest.
    expect(metrics.calibration).toMatchObject({ fittedOn: 'validation', bins: 15 });
    expect(metrics.calibration.temperature).toBeGreaterThan(0);
    expect(metrics.calibration.nllAfter).toBeLessThanOrEqual(metrics.calibration.nllBefore + 1e-6);
    expect(q.int8Ece).toBeGreaterThanOrEqual(0);
    // The int8 model's own residual temperature is folded on top of the fp32 one when, fitted on
    // the int8 outputs, it also helps the frames its fit did not see (cross-fitted NLL).
    const check = metrics.quantization.int8TemperatureCheck;
    expect(metrics.quantization.int8Temperature).toBe(check.nllCrossFit < check.nllAsIs ? check.fitted : 1);
    // Beside the 15-bin ECE: what a perfectly calibrated model would show on as many frames.
    const detail = metrics.quantization.int8EceDetail;
    expect(detail.noiseFloor.p95).toBeGreaterThanOrEqual(detail.noiseFloor.mean);
    expect(detail.noiseFloor.mean).toBeGreaterThan(0);
    expect(detail.interval[1]).toBeGreaterThanOrEqual(detail.interval[0]);
    expect(metrics.calibration.eceAfterDetail.crossFit).toBeGreaterThanOrEqual(0);
    expect(manifest.confidence).toEqual({
      temperature: metrics.calibration.temperature * metrics.quantization.int8Temperature,
      ece: q.int8Ece,
      targetCaptureRate: 0.1,
      lowConfidenceThreshold: metrics.calibration.lowConfidenceThreshold,
      classThresholds: metrics.calibration.classThresholds,
    });
    const svg = readFileSync(join(outDir, 'reliability.svg'), 'utf8');
    expect(svg).toMatch(/After, T = /);
    expect(svg).toContain(`int8 model.onnx (ECE ${q.int8Ece!.toFixed(3)})`);

    const evaluated = await edgeloop(
      'evaluate',
      '--model',
      outDir,
      '--data',
      join(dataDir, 'validation'),
      '--reference',
      join(outDir, 'model.fp32.onnx'),
      '--json',
    );
    expect(evaluated.code).toBe(0);
    const json = JSON.parse(evaluated.stdout);
    expect(json.n).toBe(LABELS.length * 6);
    expect(json.accuracy).toBeCloseTo(q.int8Accuracy, 6);
    expect(json.agreement).toBeCloseTo(q.agreement, 6);
    // The same validation images as the int8 step scored: the same calibration error.
    expect(json.ece).toBeCloseTo(q.int8Ece!, 4);
    expect(json.eceDetail.noiseFloor.mean).toBeGreaterThan(0);
    expect(json.latencyMs.p95).toBeGreaterThanOrEqual(json.latencyMs.p50);
    expect(json.perClass.map((c: { label: string }) => c.label)).toEqual([...LABELS].sort());
  }, 600_000);
});

describe('edgeloop quantize and evaluate on an imported float NCHW model', () => {
  it('quantizes it with the given input spec and evaluates both, matching classes by name', async () => {
    const out = join(work, 'foreign.int8.onnx');
    const q = await edgeloop(
      'quantize',
      '--model',
      join(work, 'foreign.onnx'),
      '--calibration',
      join(dataDir, 'train'),
      '--out',
      out,
      '--labels',
      join(work, 'labels.json'),
      '--input-spec',
      MEAN_STD,
      '--method',
      'percentile',
      '--max-images',
      '8',
    );
    expect(q.stderr).toBe('');
    expect(q.code).toBe(0);
    expect(q.stdout).toMatch(/int8 kernels: \d+ Conv/);
    // The int8 file carries labels and spec; the float original needs them as flags.
    mkdirSync(join(work, 'mixed', 'dots'), { recursive: true });
    mkdirSync(join(work, 'mixed', 'unicorns'), { recursive: true });
    writeFileSync(
      join(work, 'mixed', 'dots', 'a.png'),
      readFileSync(join(dataDir, 'validation', 'dots', readdirFirst(join(dataDir, 'validation', 'dots')))),
    );
    writeFileSync(
      join(work, 'mixed', 'unicorns', 'b.png'),
      readFileSync(join(dataDir, 'validation', 'bars', readdirFirst(join(dataDir, 'validation', 'bars')))),
    );
    const e = await edgeloop('evaluate', '--model', out, '--data', join(work, 'mixed'));
    expect(e.code).toBe(0);
    expect(e.stdout).toMatch(/on 1 images/);
    expect(e.stdout).toMatch(/does not know \(skipped\): unicorns/);
    expect(e.stdout).toMatch(/no images: stripes, bars, checks/);
    expect(e.stdout).toMatch(/confusion matrix/);

    const missingSpec = await edgeloop(
      'evaluate',
      '--model',
      join(work, 'foreign.onnx'),
      '--labels',
      join(work, 'labels.json'),
      '--data',
      dataDir,
    );
    expect(missingSpec.code).toBe(2);
    expect(missingSpec.stderr).toMatch(/float32 and carries no input spec: pass --input-spec/);
  }, 300_000);

  it('says so when the calibration folder is empty or missing', async () => {
    const args = [
      'quantize',
      '--model',
      join(work, 'foreign.onnx'),
      '--labels',
      join(work, 'labels.json'),
      '--input-spec',
      MEAN_STD,
      '--out',
      join(work, 'x.onnx'),
    ];
    const empty = await edgeloop(...args, '--calibration', join(work, 'empty'));
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/calibration folder .*empty has no images .*\[DATASET_INVALID\]/);
    const missing = await edgeloop(...args, '--calibration', join(work, 'nope'));
    expect(missing.stderr).toMatch(/cannot read calibration folder .*nope/);
  });

  it('rejects labels that do not match the model output', async () => {
    writeFileSync(join(work, 'three.json'), JSON.stringify(['a', 'b', 'c']));
    const r = await edgeloop(
      'quantize',
      '--model',
      join(work, 'foreign.onnx'),
      '--labels',
      join(work, 'three.json'),
      '--input-spec',
      MEAN_STD,
      '--calibration',
      dataDir,
      '--out',
      join(work, 'x.onnx'),
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/3 labels but the model outputs 4 classes/);
  });
});

describe('edgeloop import-model', () => {
  let cp: TestControlPlane;
  beforeAll(async () => {
    cp = await startTestControlPlane();
  });
  afterAll(async () => {
    await cp.stop();
  });

  it('registers an external classifier with its labels and input spec as the next version', async () => {
    const base = ['--control-plane', cp.cp.httpUrl, '--admin-token', cp.cp.adminToken];
    const r = await edgeloop(
      'import-model',
      '--onnx',
      join(work, 'foreign.onnx'),
      '--labels',
      join(work, 'labels.json'),
      '--input-spec',
      MEAN_STD,
      '--name',
      'foreign',
      ...base,
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(
      /imported .* as version 1: 4 classes, input float32 NCHW 32x32 \(mean-std\), fp32/,
    );
    const manifest = (await (await cp.api('/models/1/manifest', { admin: true })).json()) as Record<
      string,
      unknown
    >;
    expect(manifest).toMatchObject({
      name: 'foreign',
      labels: LABELS,
      input: { dtype: 'float32', layout: 'NCHW', width: 32, height: 32, normalization: { kind: 'mean-std' } },
      output: { kind: 'probabilities' },
    });
    expect(manifest.signature).toBeDefined();

    const bad = await edgeloop(
      'import-model',
      '--onnx',
      join(work, 'foreign.onnx'),
      '--labels',
      join(work, 'labels.json'),
      '--input-spec',
      '{"width":64,"height":64}',
      ...base,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/does not match the model input/);
  }, 120_000);
});

function readdirFirst(dir: string): string {
  return readdirSync(dir).sort()[0];
}
