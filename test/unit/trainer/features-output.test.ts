/**
 * The trainer's models carry a `features` output (the pooled layer before the head) in fp32 and in
 * int8, so a device's samples get an embedding for the labelling queue: the right shape, the same
 * values as the network's own pooling, the same direction after quantization, no change to the
 * classification, and read by the agent's own onnxruntime backend.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactEmbedding, EMBEDDING_DIMS, embeddingDistance } from '@edgeloop/shared';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { createOnnxBackend } from '../../../agent/src/inference/onnx-backend.ts';
import { buildMobileNet, type ModelSpec } from '../../../trainer/src/model/index.ts';
import { seedKernels } from '../../../trainer/src/model/seeded-init.ts';
import { exportToOnnx, uint8InputSpec } from '../../../trainer/src/onnx/export-onnx.ts';
import { encodeModel } from '../../../trainer/src/onnx/onnx-proto.ts';
import { decodeModel } from '../../../trainer/src/onnx/onnx-reader.ts';
import { quantizeModel } from '../../../trainer/src/quantize/quantize-model.ts';
import { SCALING, smoothImages } from '../../helpers/quantize-fixtures.ts';

const workDir = mkdtempSync(join(tmpdir(), 'edgeloop-features-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const SIZE = 32;
const spec: ModelSpec = {
  architecture: 'mobilenet_v1',
  alpha: 0.25,
  dropout: 0.2,
  numClasses: 5,
  inputSize: SIZE,
};
const images = smoothImages(12, SIZE, 7);

async function runAll(
  bytes: Uint8Array,
): Promise<{ probabilities: Float32Array[]; features: Float32Array[] }> {
  const session = await ort.InferenceSession.create(bytes);
  const out = { probabilities: [] as Float32Array[], features: [] as Float32Array[] };
  try {
    for (const img of images) {
      const r = await session.run({ input: new ort.Tensor('uint8', img, [1, SIZE, SIZE, 3]) });
      out.probabilities.push(r.probabilities.data as Float32Array);
      if (r.features) out.features.push(r.features.data as Float32Array);
    }
  } finally {
    await session.release();
  }
  return out;
}

/** Cosine similarity, by the same function the control plane compares embeddings with. */
const cosine = (a: Float32Array, b: Float32Array) => 1 - embeddingDistance(Array.from(a), Array.from(b));

/** The same fp32 model without the features output, as the exporter wrote models before it. */
function withoutFeatures(bytes: Uint8Array): Uint8Array {
  const m = decodeModel(bytes);
  m.outputs = m.outputs.filter((o) => o.name !== 'features');
  m.nodes = m.nodes.filter((n) => !n.outputs.includes('features'));
  return encodeModel(m);
}

describe('the features output of exported models', () => {
  // Default initialisation (not the quantizer tests' random BatchNorm statistics, which leave this
  // small network's pooled features the same for every image): the features differ per image.
  const model = buildMobileNet(spec);
  seedKernels(tf, model, 5);
  const fp32 = exportToOnnx(model, { inputScaling: SCALING, metadata: {} });
  const pool = model.getLayer('global_average_pooling2d');
  const channels = (pool.outputShape as number[])[1];

  it('fp32: [N, channels] beside the probabilities, equal to the network pooling', async () => {
    const m = decodeModel(fp32);
    expect(m.outputs.map((o) => [o.name, o.shape])).toEqual([
      ['probabilities', ['N', 5]],
      ['features', ['N', channels]],
    ]);
    const { features } = await runAll(fp32);
    const extractor = tf.model({ inputs: model.inputs, outputs: pool.output as tf.SymbolicTensor });
    const expected = tf.tidy(() => {
      const x = tf.tensor(
        Float32Array.from(images[0], (p) => p * SCALING.scale + SCALING.offset),
        [1, SIZE, SIZE, 3],
      );
      return (extractor.predict(x) as tf.Tensor).dataSync() as Float32Array;
    });
    expect(features[0]).toHaveLength(channels);
    for (let c = 0; c < channels; c++) expect(features[0][c]).toBeCloseTo(expected[c], 3);
  });

  it('int8: the same output, pointing the same way, and the classification as without it', async () => {
    const options = { method: 'minmax' as const };
    const calibration = smoothImages(8, SIZE, 3);
    const int8 = await quantizeModel(fp32, calibration, uint8InputSpec(SIZE, SIZE), options);
    const plain = await quantizeModel(
      withoutFeatures(fp32),
      calibration,
      uint8InputSpec(SIZE, SIZE),
      options,
    );
    expect(decodeModel(int8.bytes).outputs.map((o) => [o.name, o.shape])).toEqual([
      ['probabilities', ['N', 5]],
      ['features', ['N', channels]],
    ]);
    // The head's equalization still happens with the features output reading the same channels.
    expect(int8.report.equalizedPairs).toBe(plain.report.equalizedPairs);
    const [a, b, f] = await Promise.all([runAll(int8.bytes), runAll(plain.bytes), runAll(fp32)]);
    for (let i = 0; i < images.length; i++) {
      // The same classification (calibration sums run on threads, so the last bits may differ).
      const top = (p: Float32Array) => p.indexOf(Math.max(...p));
      expect(top(a.probabilities[i])).toBe(top(b.probabilities[i]));
      for (let c = 0; c < 5; c++) expect(a.probabilities[i][c]).toBeCloseTo(b.probabilities[i][c], 3);
      // Equalization rescales the pooled channels; the output undoes it, so a device's
      // embedding means the same thing from the fp32 and the int8 model (seeded network: 0.975 at
      // worst here; 0.944 when the scaling is left in).
      expect(cosine(a.features[i], f.features[i])).toBeGreaterThan(0.97);
    }
  });

  it('is read by the agent and compacts to the embedding a sample carries', async () => {
    const path = join(workDir, 'model.onnx');
    writeFileSync(path, fp32);
    const session = await createOnnxBackend({ inProcess: true }).createSession(path, {
      threads: 1,
      inputName: 'input',
      outputName: 'probabilities',
    });
    try {
      expect(session.featuresName).toBe('features');
      const run = (img: Uint8Array) =>
        session.runWithFeatures({ dtype: 'uint8', data: img, dims: [1, SIZE, SIZE, 3] });
      const [one, again, other] = await Promise.all([run(images[0]), run(images[0]), run(images[5])]);
      expect(one.features).toHaveLength(channels);
      const [e1, e2, e3] = [one, again, other].map((r) => compactEmbedding(r.features!));
      expect(e1).toHaveLength(EMBEDDING_DIMS);
      expect(e1).toEqual(e2);
      expect(embeddingDistance(e1, e3)).toBeGreaterThan(0);
    } finally {
      await session.release();
    }
  });
});
