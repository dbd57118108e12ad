/** Uploads a trained model folder to the control plane's registry. */
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
  return client.publishModel(
    options.modelVersion === undefined ? manifest : { ...manifest, modelVersion: options.modelVersion },
    model.files,
    model.metrics ?? undefined,
  );
}
