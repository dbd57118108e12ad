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
      const result = await session.run({
        [inputName]: new ort.Tensor('uint8', data, [images.length, size, size, 3]),
      });
      return result[outputName].data as Float32Array;
    },
    release: () => session.release(),
  };
}
