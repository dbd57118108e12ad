/** The trainer's one importer of onnxruntime-node: runs exported models to check and evaluate them. */
import * as ort from 'onnxruntime-node';

export interface OnnxRunner {
  /** `images`: N RGB byte arrays of size*size*3; returns N*numClasses probabilities. */
  run(images: Uint8Array[], size: number): Promise<Float32Array>;
  release(): Promise<void>;
}

export async function createOnnxRunner(model: Uint8Array, threads = 1): Promise<OnnxRunner> {
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const inputName = session.inputNames[0];
  const outputName = session.outputNames[0];
  return {
    async run(images, size) {
      const pixels = size * size * 3;
      const data = new Uint8Array(images.length * pixels);
      for (const [i, img] of images.entries()) data.set(img, i * pixels);
      // Only the probabilities: a `features` output (export-onnx.ts) is for devices.
      const result = await session.run(
        { [inputName]: new ort.Tensor('uint8', data, [images.length, size, size, 3]) },
        [outputName],
      );
      return result[outputName].data as Float32Array;
    },
    release: () => session.release(),
  };
}

export type TensorData = { data: Float32Array | Uint8Array; dims: number[] };

/** A session fed with ready-made tensors (any input spec) that can return any named value. */
export interface TensorRunner {
  readonly inputName: string;
  readonly outputNames: readonly string[];
  /** Runs one input; `outputs` defaults to the graph's declared outputs. Non-float outputs are skipped. */
  run(
    input: TensorData,
    outputs?: readonly string[],
  ): Promise<Map<string, { data: Float32Array; dims: number[] }>>;
  release(): Promise<void>;
}

/**
 * `optimize: false` runs the graph as written (a QDQ model then computes in float through its
 * Q/DQ pairs, which exposes each layer's output for bias correction).
 */
export async function createTensorRunner(
  model: Uint8Array,
  threads = 1,
  options: { optimize?: boolean } = {},
): Promise<TensorRunner> {
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: options.optimize === false ? 'disabled' : 'all',
  });
  return {
    inputName: session.inputNames[0],
    outputNames: session.outputNames,
    async run(input, outputs = session.outputNames) {
      const type = input.data instanceof Uint8Array ? 'uint8' : 'float32';
      const result = await session.run(
        { [session.inputNames[0]]: new ort.Tensor(type, input.data, input.dims) },
        [...outputs],
      );
      const out = new Map<string, { data: Float32Array; dims: number[] }>();
      for (const name of outputs) {
        const t = result[name];
        if (t?.type === 'float32') out.set(name, { data: t.data as Float32Array, dims: [...t.dims] });
      }
      return out;
    },
    release: () => session.release(),
  };
}
