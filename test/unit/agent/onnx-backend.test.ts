import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputSpecSchema } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOnnxBackend } from '../../../agent/src/inference/onnx-backend.ts';
import { classify } from '../../../agent/src/inference/postprocess.ts';
import { tensorFromRgb } from '../../../agent/src/inference/preprocess.ts';
import { pythonWithOnnx } from '../../helpers/python-onnx.ts';
import { redBlueClassifier } from '../../helpers/tiny-onnx.ts';

function solid(r: number, g: number, b: number, size = 32) {
  const data = new Uint8Array(size * size * 3);
  for (let i = 0; i < size * size; i++) data.set([r, g, b], i * 3);
  return { width: size, height: size, data };
}

/** Our contract's input at the tiny model's size. */
const uint8Spec = InputSpecSchema.parse({
  name: 'input',
  dtype: 'uint8',
  layout: 'NHWC',
  width: 32,
  height: 32,
  channels: 3,
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgeloop-onnx-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tiny ONNX test model', () => {
  it.skipIf(!pythonWithOnnx)('passes the official ONNX checker', async () => {
    const path = join(dir, 'checked.onnx');
    await writeFile(path, redBlueClassifier());
    execFileSync(pythonWithOnnx!, [
      '-c',
      'import onnx,sys;onnx.checker.check_model(onnx.load(sys.argv[1]))',
      path,
    ]);
  });
});

describe('onnx backend (real onnxruntime session)', () => {
  const backend = createOnnxBackend();
  const labels = ['red', 'blue'];

  it('runs our uint8 NHWC contract and tells red from blue', async () => {
    const path = join(dir, 'uint8.onnx');
    await writeFile(path, redBlueClassifier({ k: 0.05 }));
    const session = await backend.createSession(path, {
      threads: 1,
      inputName: 'input',
      outputName: 'probabilities',
    });
    const spec = uint8Spec;
    const red = classify(
      await session.run(tensorFromRgb(solid(230, 20, 20), spec)),
      { kind: 'probabilities' },
      labels,
      2,
    );
    const blue = classify(
      await session.run(tensorFromRgb(solid(20, 20, 230), spec)),
      { kind: 'probabilities' },
      labels,
      2,
    );
    expect(red[0].label).toBe('red');
    expect(red[0].confidence).toBeGreaterThan(0.99);
    expect(blue[0].label).toBe('blue');
    await session.release();
  });

  it('runs an imported float32 NCHW model that emits logits', async () => {
    const path = join(dir, 'float.onnx');
    await writeFile(path, redBlueClassifier({ k: 2, input: 'float32-nchw', output: 'logits' }));
    const session = await backend.createSession(path, { threads: 1 });
    expect([session.inputName, session.outputName]).toEqual(['input', 'logits']);
    const spec = InputSpecSchema.parse({
      name: 'input',
      dtype: 'float32',
      layout: 'NCHW',
      width: 32,
      height: 32,
      channels: 3,
      normalization: { kind: 'mean-std', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
    });
    const output = await session.run(tensorFromRgb(solid(20, 20, 230), spec));
    // mean R ≈ -0.84, mean B ≈ 0.80 after normalization: logit gap = k·(R − B) ≈ -3.3
    expect(output[0] - output[1]).toBeCloseTo(2 * ((20 / 255 - 0.5) / 0.5 - (230 / 255 - 0.5) / 0.5), 4);
    expect(classify(output, { kind: 'logits' }, labels, 1)[0].label).toBe('blue');
    await session.release();
  });

  it('refuses a model without the input the manifest names, and a file that is not a model', async () => {
    const path = join(dir, 'named.onnx');
    await writeFile(path, redBlueClassifier());
    await expect(backend.createSession(path, { threads: 1, inputName: 'pixels' })).rejects.toMatchObject({
      code: 'MODEL_INVALID',
      message: expect.stringMatching(/no input named 'pixels'/),
    });
    const junk = join(dir, 'junk.onnx');
    await writeFile(junk, 'definitely not protobuf');
    await expect(backend.createSession(junk, { threads: 1 })).rejects.toMatchObject({
      code: 'MODEL_INVALID',
    });
  });
});

describe('onnx backend on the calling thread (many simulated devices in one process)', () => {
  it('answers exactly as the worker-thread sessions do, and refuses a wrong input name', async () => {
    const path = join(dir, 'in-process.onnx');
    await writeFile(path, redBlueClassifier({ k: 0.05 }));
    const spec = uint8Spec;
    const names = { threads: 1, inputName: 'input', outputName: 'probabilities' };
    const inWorker = await createOnnxBackend().createSession(path, names);
    const inProcess = await createOnnxBackend({ inProcess: true }).createSession(path, names);
    try {
      for (const rgb of [solid(230, 20, 20), solid(20, 20, 230), solid(120, 90, 140)]) {
        const a = await inWorker.run(tensorFromRgb(rgb, spec));
        const b = await inProcess.run(tensorFromRgb(rgb, spec));
        expect([...b]).toEqual([...a]);
      }
    } finally {
      await inWorker.release();
      await inProcess.release();
    }
    await expect(
      createOnnxBackend({ inProcess: true }).createSession(path, { ...names, inputName: 'pixels' }),
    ).rejects.toMatchObject({ code: 'MODEL_INVALID' });
  });
});

describe('onnx backend: the optional features output (the sample embedding source)', () => {
  it('returns the features a model exports beside its scores, and null for a model without', async () => {
    const withFeatures = join(dir, 'features.onnx');
    await writeFile(withFeatures, redBlueClassifier({ k: 0.05, features: true }));
    const plain = join(dir, 'plain.onnx');
    await writeFile(plain, redBlueClassifier({ k: 0.05 }));
    const spec = uint8Spec;
    const names = { threads: 1, inputName: 'input', outputName: 'probabilities' };
    for (const backend of [createOnnxBackend(), createOnnxBackend({ inProcess: true })]) {
      const session = await backend.createSession(withFeatures, names);
      const without = await backend.createSession(plain, names);
      try {
        expect(session.featuresName).toBe('features');
        const out = await session.runWithFeatures(tensorFromRgb(solid(230, 20, 40), spec));
        // The tiny model's features are the frame's mean R, G, B.
        expect([...(out.features ?? [])]).toEqual([230, 20, 40]);
        expect(classify(out.scores, { kind: 'probabilities' }, ['red', 'blue'], 1)[0].label).toBe('red');
        expect(without.featuresName).toBeNull();
        expect((await without.runWithFeatures(tensorFromRgb(solid(1, 2, 3), spec))).features).toBeNull();
      } finally {
        await session.release();
        await without.release();
      }
    }
  });
});
