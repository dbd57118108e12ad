/**
 * tfjs layers checkpoints on disk (model.json + weights.bin, the format tf.io writes), so a model
 * version can be retrained from where its parent stopped. Read and written by hand: `file://`
 * handlers need tfjs-node, which is optional.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  EdgeloopError,
  MODEL_FOLDER,
  parseArtifactJson,
  TfjsCheckpointSchema,
  writeFileAtomic,
} from '@edgeloop/shared';
import type * as tfjs from '@tensorflow/tfjs';

type Tf = typeof tfjs;

export const CHECKPOINT_DIR = MODEL_FOLDER.checkpointDir;

export async function saveCheckpoint(tf: Tf, model: tfjs.LayersModel, modelDir: string): Promise<void> {
  const dir = join(modelDir, CHECKPOINT_DIR);
  await mkdir(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = artifacts.weightData as ArrayBuffer;
      await writeFileAtomic(join(dir, 'weights.bin'), new Uint8Array(weightData));
      const json = {
        format: 'layers-model',
        generatedBy: 'edgeloop',
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      };
      await writeFileAtomic(join(dir, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
}

/** Loads a tfjs layers model from a model.json path (its weight files beside it), or a model folder. */
export async function loadLayersModelFromDisk(tf: Tf, path: string): Promise<tfjs.LayersModel> {
  const jsonPath = path.endsWith('.json') ? path : join(path, CHECKPOINT_DIR, 'model.json');
  let text: string;
  try {
    text = await readFile(jsonPath, 'utf8');
  } catch (err) {
    throw new EdgeloopError('MODEL_INVALID', `cannot read tfjs model ${jsonPath}: ${(err as Error).message}`);
  }
  const json = parseArtifactJson(TfjsCheckpointSchema, text, jsonPath);
  const buffers: Uint8Array[] = [];
  const weightSpecs: tfjs.io.WeightsManifestEntry[] = [];
  for (const group of json.weightsManifest) {
    for (const p of group.paths) buffers.push(new Uint8Array(await readFile(join(dirname(jsonPath), p))));
    weightSpecs.push(...(group.weights as tfjs.io.WeightsManifestEntry[]));
  }
  const total = buffers.reduce((n, b) => n + b.byteLength, 0);
  const weightData = new Uint8Array(total);
  let offset = 0;
  for (const b of buffers) {
    weightData.set(b, offset);
    offset += b.byteLength;
  }
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology as tfjs.io.ModelJSON['modelTopology'],
      weightSpecs,
      weightData: weightData.buffer,
    }),
  );
}
