/**
 * Moves models and labelled field samples between a trainer's disk and the control plane.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ApiClient, ModelVersionSummary } from '@edgeloop/shared';
import { readModelDir } from '../output/model-dir.ts';

/**
 * Publishes a model folder. Without an explicit version the next free one is used, so repeated
 * trainings publish 1, 2, 3… (the control plane refuses a version that is not newer than the last).
 */
export async function publishModelDir(
  client: ApiClient,
  dir: string,
  options: { modelVersion?: number } = {},
): Promise<ModelVersionSummary> {
  const model = await readModelDir(dir);
  const modelVersion =
    options.modelVersion ?? Math.max(0, ...(await client.listModels()).map((m) => m.modelVersion)) + 1;
  const summary = await client.publishModel(
    { ...model.manifest, modelVersion },
    model.files,
    model.metrics ?? undefined,
  );
  const sampleIds = model.metrics?.sampleIds ?? [];
  if (sampleIds.length) await client.markSamplesUsed(sampleIds, modelVersion);
  return summary;
}

const EXTENSIONS: Record<string, string> = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp' };

/**
 * Downloads every labelled sample into class folders under `outDir`, each file named by its sample
 * id: extra training data for `train` (which keeps only classes its dataset has).
 */
export async function downloadLabelledSamples(
  client: ApiClient,
  outDir: string,
): Promise<{ sampleIds: string[] }> {
  const samples = await client.allSamples({ labelled: true });
  const sampleIds: string[] = [];
  for (const sample of samples) {
    if (!sample.label) continue;
    const { bytes, contentType } = await client.sampleImage(sample.sampleId);
    const dir = join(outDir, sample.label);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `${sample.sampleId}.${EXTENSIONS[contentType] ?? 'jpg'}`), bytes);
    sampleIds.push(sample.sampleId);
  }
  return { sampleIds };
}
