/**
 * Moves models and labelled field samples between a trainer's disk and the control plane.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ApiClient, ModelVersionSummary } from '@edgeloop/shared';
import { readModelDir } from '../output/model-dir.ts';

/**
 * Publishes a model folder. The control plane numbers the version (the next free one, chosen where
 * two publishers cannot race) and the returned summary says which; `modelVersion` asks for a
 * specific one instead, which the control plane refuses unless it is newer than the latest.
 */
export async function publishModelDir(
  client: ApiClient,
  dir: string,
  options: { modelVersion?: number } = {},
): Promise<ModelVersionSummary> {
  const model = await readModelDir(dir);
  const { modelVersion: _unnumbered, ...manifest } = model.manifest;
  const summary = await client.publishModel(
    options.modelVersion === undefined ? manifest : { ...manifest, modelVersion: options.modelVersion },
    model.files,
    model.metrics ?? undefined,
  );
  if (model.metrics?.sampleIds.length)
    await client.markSamplesUsed(model.metrics.sampleIds, summary.modelVersion);
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
