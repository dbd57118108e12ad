import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng } from '@edgeloop/shared';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { buildMobileNet, type ModelSpec } from '../../../trainer/src/model/index.ts';
import { exportToOnnx, UnsupportedLayerError } from '../../../trainer/src/onnx/index.ts';
import { pythonWithOnnx } from '../../helpers/python-onnx.ts';
import { randomizeBatchNorm, SCALING } from '../../helpers/quantize-fixtures.ts';

const TOLERANCE = 1e-4;

function randomPixels(n: number, size: number, seed: number): Uint8Array {
  const next = createRng(seed);
  return Uint8Array.from({ length: n * size * size * 3 }, () => Math.floor(next() * 256));
}

function runTfjs(model: tf.LayersModel, pixels: Uint8Array, shape: number[]): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor(
      Float32Array.from(pixels, (p) => p * SCALING.scale + SCALING.offset),
      shape,
    );
    return (model.predict(x) as tf.Tensor).dataSync() as Float32Array;
  });
}

async function runOnnx(bytes: Uint8Array, pixels: Uint8Array, shape: number[]): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run({ input: new ort.Tensor('uint8', pixels, shape) });
    return out.probabilities;
  } finally {
    await session.release();
  }
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

const workDir = mkdtempSync(join(tmpdir(), 'edgeloop-onnx-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const CHECK_SCRIPT = `
import json, sys, onnx
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
i, o = m.graph.input[0], m.graph.output[0]
print(json.dumps({
  "ir": m.ir_version, "opset": [x.version for x in m.opset_import],
  "input": [i.name, i.type.tensor_type.elem_type, [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]],
  "output": [o.name, o.type.tensor_type.elem_type, [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim]],
  "ops": sorted(set(n.op_type for n in m.graph.node)),
  "metadata": {p.key: p.value for p in m.metadata_props},
}))
`;

/** Runs onnx.checker (full_check) and returns a summary, or null when python3-onnx is absent. */
function checkWithPython(bytes: Uint8Array, name: string): Record<string, unknown> | null {
  if (!pythonWithOnnx) return null;
  const file = join(workDir, `${name}.onnx`);
  writeFileSync(file, bytes);
  return JSON.parse(execFileSync(pythonWithOnnx, ['-c', CHECK_SCRIPT, file], { encoding: 'utf8' }));
}

/** The backbone up to global pooling: pre-head features are far more sensitive than probabilities. */
function featureModel(model: tf.LayersModel): tf.LayersModel {
  return tf.model({ inputs: model.inputs, outputs: model.getLayer('global_average_pooling2d').output });
}

type Case = { spec: ModelSpec; batch: number };
const base = { alpha: 0.25, dropout: 0.2 } as const;
const cases: Case[] = [
  { spec: { ...base, architecture: 'mobilenet_v1', inputSize: 32, numClasses: 5 }, batch: 2 },
  { spec: { ...base, architecture: 'mobilenet_v1', inputSize: 64, numClasses: 40 }, batch: 3 },
  { spec: { ...base, architecture: 'mobilenet_v2', inputSize: 32, numClasses: 5 }, batch: 2 },
  {
    spec: { ...base, architecture: 'mobilenet_v2', inputSize: 64, numClasses: 40, hiddenUnits: 16 },
    batch: 3,
  },
  { spec: { ...base, architecture: 'mobilenet_v2', inputSize: 96, numClasses: 10 }, batch: 1 },
  {
    spec: { ...base, architecture: 'mobilenet_v1', inputSize: 96, numClasses: 10, hiddenUnits: 8 },
    batch: 1,
  },
  // The other widths the trainer builds (channel counts rounded to multiples of 8 differently).
  { spec: { ...base, alpha: 0.75, architecture: 'mobilenet_v1', inputSize: 96, numClasses: 3 }, batch: 1 },
  { spec: { ...base, alpha: 1.0, architecture: 'mobilenet_v2', inputSize: 96, numClasses: 3 }, batch: 1 },
  { spec: { ...base, alpha: 0.35, architecture: 'mobilenet_v2', inputSize: 128, numClasses: 3 }, batch: 1 },
];

describe('exportToOnnx parity with tfjs', () => {
  it.each(cases)(
    '$spec.architecture $spec.inputSize px hidden=$spec.hiddenUnits batch $batch',
    async ({ spec, batch }) => {
      const model = buildMobileNet(spec);
      randomizeBatchNorm(model, spec.inputSize + batch);
      const shape = [batch, spec.inputSize, spec.inputSize, 3];
      const pixels = randomPixels(batch, spec.inputSize, 7 * batch);
      const name = `${spec.architecture}-${spec.inputSize}-${batch}`;

      const bytes = exportToOnnx(model, { inputScaling: SCALING, metadata: { 'edgeloop.model': name } });
      const probs = await runOnnx(bytes, pixels, shape);
      expect(probs.type).toBe('float32');
      expect(probs.dims).toEqual([batch, spec.numClasses]);
      const probDiff = maxAbsDiff(probs.data as Float32Array, runTfjs(model, pixels, shape));
      expect(probDiff).toBeLessThanOrEqual(TOLERANCE);

      const features = featureModel(model);
      const featureBytes = exportToOnnx(features, { inputScaling: SCALING, metadata: {} });
      const expected = runTfjs(features, pixels, shape);
      const got = (await runOnnx(featureBytes, pixels, shape)).data as Float32Array;
      const featureDiff = maxAbsDiff(got, expected);
      // Features are O(1) here, so an absolute bound is also a relative one.
      expect(maxAbs(expected)).toBeGreaterThan(0.1);
      expect(featureDiff).toBeLessThanOrEqual(TOLERANCE * Math.max(1, maxAbs(expected)));
      console.info(
        `${name}: max |dprob| ${probDiff.toExponential(2)}, max |dfeature| ${featureDiff.toExponential(2)} (max |feature| ${maxAbs(expected).toFixed(2)})`,
      );

      const summary = checkWithPython(bytes, name);
      if (summary) {
        expect(summary).toMatchObject({
          ir: 8,
          opset: [13],
          input: ['input', 2, ['N', spec.inputSize, spec.inputSize, 3]],
          output: ['probabilities', 1, ['N', spec.numClasses]],
          metadata: { 'edgeloop.model': name, format_version: '1' },
        });
        // The input contract travels with the model (docs/model-format.md).
        expect(JSON.parse((summary.metadata as Record<string, string>).input_spec)).toEqual({
          name: 'input',
          dtype: 'uint8',
          layout: 'NHWC',
          width: spec.inputSize,
          height: spec.inputSize,
          channels: 3,
          colorOrder: 'RGB',
          normalization: { kind: 'none' },
        });
        // BN folded into convs, pixel scaling folded into the first conv.
        expect(summary.ops).not.toContain('BatchNormalization');
        expect(summary.ops).not.toContain('Mul');
        expect(summary.ops).toContain('Clip');
      }
    },
  );
});

describe('exportToOnnx input handling', () => {
  it('is exact at padded borders of the first conv (pixel scaling folded behind a 127.5 Pad)', async () => {
    const input = tf.input({ shape: [32, 32, 3] });
    const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', name: 'conv1' });
    const model = tf.model({ inputs: input, outputs: conv.apply(input) as tf.SymbolicTensor });
    conv.setWeights([tf.randomNormal([3, 3, 3, 4]), tf.randomNormal([4])]);
    // Saturated borders make a wrong padding value visible immediately.
    const pixels = randomPixels(1, 32, 3).map((p, i) => (Math.floor(i / 3) % 32 === 31 ? 255 : p));
    const bytes = exportToOnnx(model, { inputScaling: SCALING, metadata: {} });
    const got = await runOnnx(bytes, pixels, [1, 32, 32, 3]);
    expect(got.dims).toEqual([1, 16, 16, 4]);
    expect(maxAbsDiff(got.data as Float32Array, runTfjs(model, pixels, [1, 32, 32, 3]))).toBeLessThanOrEqual(
      TOLERANCE,
    );
    const summary = checkWithPython(bytes, 'first-conv');
    if (summary) expect(summary.ops).toEqual(['Cast', 'Conv', 'Pad', 'Transpose']);
  });

  it('falls back to explicit Mul/Add scaling when the first layer is not a conv (Flatten keeps NHWC order)', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.flatten({ inputShape: [4, 4, 3] }),
        tf.layers.dense({ units: 3, activation: 'softmax', name: 'predictions' }),
      ],
    });
    const pixels = randomPixels(2, 4, 11);
    const bytes = exportToOnnx(model, { inputScaling: SCALING, metadata: {} });
    const got = await runOnnx(bytes, pixels, [2, 4, 4, 3]);
    expect(maxAbsDiff(got.data as Float32Array, runTfjs(model, pixels, [2, 4, 4, 3]))).toBeLessThanOrEqual(
      TOLERANCE,
    );
    const summary = checkWithPython(bytes, 'flatten-dense');
    if (summary)
      expect(summary.ops).toEqual(expect.arrayContaining(['Mul', 'Add', 'Flatten', 'Gemm', 'Softmax']));
  });

  it('can write a float NCHW mean/std input instead (the layout imported models use)', async () => {
    const spec: ModelSpec = {
      architecture: 'mobilenet_v2',
      alpha: 0.25,
      inputSize: 32,
      numClasses: 4,
      dropout: 0,
    };
    const model = buildMobileNet(spec);
    randomizeBatchNorm(model, 5);
    const mean: [number, number, number] = [0.485, 0.456, 0.406];
    const std: [number, number, number] = [0.229, 0.224, 0.225];
    const bytes = exportToOnnx(model, { inputScaling: SCALING, metadata: {}, floatInput: { mean, std } });
    const pixels = randomPixels(2, 32, 13);
    const nchw = new Float32Array(pixels.length);
    for (let i = 0; i < pixels.length; i++) {
      const [n, p, c] = [Math.floor(i / (32 * 32 * 3)), Math.floor(i / 3) % (32 * 32), i % 3];
      nchw[n * 3 * 32 * 32 + c * 32 * 32 + p] = (pixels[i] / 255 - mean[c]) / std[c];
    }
    const session = await ort.InferenceSession.create(bytes);
    const got = (await session.run({ input: new ort.Tensor('float32', nchw, [2, 3, 32, 32]) })).probabilities;
    await session.release();
    expect(maxAbsDiff(got.data as Float32Array, runTfjs(model, pixels, [2, 32, 32, 3]))).toBeLessThanOrEqual(
      TOLERANCE,
    );
    const summary = checkWithPython(bytes, 'float-nchw');
    if (summary) {
      expect(summary.input).toEqual(['input', 1, ['N', 3, 32, 32]]);
      expect(JSON.parse((summary.metadata as Record<string, string>).input_spec)).toMatchObject({
        dtype: 'float32',
        layout: 'NCHW',
        normalization: { kind: 'mean-std', mean, std },
      });
    }
  });

  it('throws UnsupportedLayerError naming the layer and its class', () => {
    const input = tf.input({ shape: [32, 32, 3] });
    const pooled = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool_me' }).apply(input) as tf.SymbolicTensor;
    const model = tf.model({
      inputs: input,
      outputs: tf.layers.flatten().apply(pooled) as tf.SymbolicTensor,
    });
    const attempt = () => exportToOnnx(model, { inputScaling: SCALING, metadata: {} });
    expect(attempt).toThrow(UnsupportedLayerError);
    expect(attempt).toThrow(/pool_me.*MaxPooling2D/);
    try {
      attempt();
    } catch (err) {
      expect(err).toMatchObject({
        layerName: 'pool_me',
        layerClass: 'MaxPooling2D',
        code: 'UNSUPPORTED_LAYER',
      });
    }
  });
});
