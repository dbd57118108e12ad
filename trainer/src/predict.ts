/** `edgeloop predict`: top-k labels for image files, using the model folder's ONNX model. */
import { EdgeloopError } from '@edgeloop/shared';
import { decodeResized } from './data/image-decoder.ts';
import { createOnnxRunner } from './inference/onnx-runner.ts';
import { readModelDir } from './output/model-dir.ts';

export interface ImagePrediction {
  image: string;
  topK: { label: string; confidence: number }[];
}

export async function predictImages(
  modelDir: string,
  images: string[],
  topK = 3,
): Promise<ImagePrediction[]> {
  const model = await readModelDir(modelDir);
  const { input, labels } = model.manifest;
  if (input.dtype !== 'uint8' || input.layout !== 'NHWC' || input.width !== input.height) {
    throw new EdgeloopError(
      'MODEL_INVALID',
      `predict supports edgeloop models (uint8 NHWC square input); got ${input.dtype} ${input.layout}`,
    );
  }
  const modelFile = model.manifest.files.find((f) => f.role === 'model');
  if (!modelFile)
    throw new EdgeloopError('MODEL_INVALID', `no file with role 'model' in ${modelDir}/manifest.json`);
  const runner = await createOnnxRunner(model.files.get(modelFile.name)!);
  try {
    const results: ImagePrediction[] = [];
    for (const image of images) {
      const decoded = await decodeResized(image, { width: input.width, height: input.height });
      const probs = await runner.run([decoded.data], input.width);
      const ranked = labels
        .map((label, i) => ({ label, confidence: probs[i] }))
        .sort((a, b) => b.confidence - a.confidence)
        .slice(0, topK);
      results.push({ image, topK: ranked });
    }
    return results;
  } finally {
    await runner.release();
  }
}
