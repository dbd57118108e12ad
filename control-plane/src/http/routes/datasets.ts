/** Datasets (imported images) and dataset versions (immutable snapshots). */
import { DatasetNameSchema, NotFoundError, parseWith } from '@edgeloop/shared';
import { addDatasetImage, type DatasetImageDeps } from '../../datasets/dataset-images.ts';
import { type DatasetImportDeps, importIntoDataset } from '../../datasets/dataset-import.ts';
import { snapshotDataset } from '../../datasets/dataset-versions.ts';
import { createAddressPolicy } from '../../net/address-policy.ts';
import { guardedFetch } from '../../net/guarded-fetch.ts';
import { actorOf } from '../actor.ts';
import { handlers } from '../contract-routes.ts';
import type { AppDeps } from '../env.ts';

export function datasetHandlers(deps: AppDeps) {
  const { store, objects, config } = deps;
  const imageDeps: DatasetImageDeps = {
    store,
    objects,
    maxBytes: config.limits.sampleMaxBytes,
    maxPixels: config.limits.sampleMaxPixels,
  };
  const policy = createAddressPolicy(config.datasetImport.allowNetworks);
  const importDeps: DatasetImportDeps = {
    ...imageDeps,
    fetchUrl: (url) =>
      guardedFetch(url, {
        policy,
        maxBytes: config.limits.sampleMaxBytes,
        timeoutMs: config.datasetImport.timeoutSec * 1000,
        maxRedirects: config.datasetImport.maxRedirects,
        logger: deps.logger,
      }),
  };
  const datasetName = (raw: string) => parseWith(DatasetNameSchema, raw, 'dataset name');

  async function findVersion(id: string) {
    const version = await store.datasets.getVersion(id);
    if (!version) throw new NotFoundError(`dataset version '${id}' not found`);
    return version;
  }

  return handlers({
    listDatasets: async () => ({ status: 200, body: { datasets: await store.datasets.listDatasets() } }),
    listDatasetImages: async ({ params, query }) => {
      const { images, total } = await store.datasets.listImages(datasetName(params.name), query);
      return {
        status: 200,
        body: { images: images.map(({ objectKey: _k, contentType: _c, ...image }) => image), total },
      };
    },
    addDatasetImage: async ({ params, body }, c) => {
      const result = await addDatasetImage(imageDeps, {
        dataset: datasetName(params.name),
        label: body.label,
        bytes: new Uint8Array(await body.image.arrayBuffer()),
        source: body.source ?? `upload:${body.image.name}`,
        actor: actorOf(c),
      });
      return result.duplicate ? { status: 200, body: result } : { status: 201, body: result };
    },
    importDataset: async ({ params, body }, c) => {
      const result = await importIntoDataset(importDeps, datasetName(params.name), body, actorOf(c));
      deps.logger.info({ dataset: params.name, ...result, failed: result.failed.length }, 'dataset import');
      return { status: 200, body: result };
    },
    createDatasetVersion: async ({ body }, c) => {
      const { version, created } = await snapshotDataset(store, {
        base: body.base,
        until: body.until,
        actor: actorOf(c),
      });
      return created ? { status: 201, body: version } : { status: 200, body: version };
    },
    listDatasetVersions: async () => ({
      status: 200,
      body: { versions: await store.datasets.listVersions() },
    }),
    getDatasetVersion: async ({ params }) => {
      const version = await findVersion(params.id);
      const entries = (await store.datasets.versionEntries(version.id)).map(
        ({ objectKey: _k, ...entry }) => entry,
      );
      return { status: 200, body: { version, entries } };
    },
    getDatasetVersionImage: async ({ params }) => {
      const version = await findVersion(params.id);
      const entry = await store.datasets.versionEntry(version.id, params.sha256);
      if (!entry) throw new NotFoundError(`version ${version.id} has no image ${params.sha256}`);
      const bytes = await objects.get(entry.objectKey);
      return new Response(bytes, {
        headers: { 'Content-Type': entry.contentType, 'Content-Length': String(bytes.byteLength) },
      });
    },
  });
}
