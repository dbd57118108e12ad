/** Datasets (imported images) and dataset versions (immutable snapshots), admin only. */
import {
  ClassNameSchema,
  CreateDatasetVersionSchema,
  DatasetImportSchema,
  DatasetNameSchema,
  NotFoundError,
  parseWith,
  ValidationError,
} from '@edgeloop/shared';
import { Hono } from 'hono';
import { addDatasetImage, type DatasetImageDeps } from '../../datasets/dataset-images.ts';
import { importIntoDataset } from '../../datasets/dataset-import.ts';
import { snapshotDataset } from '../../datasets/dataset-versions.ts';
import { actorOf } from '../actor.ts';
import { requireRole } from '../auth.ts';
import { formText, limitBody, readForm, readJson } from '../body.ts';
import type { AppDeps, AppEnv } from '../env.ts';

const FORM_OVERHEAD_BYTES = 64 * 1024;

function pageParam(raw: string | undefined, name: string, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n > max)
    throw new ValidationError(`query '${name}' must be an integer up to ${max}`);
  return n;
}

export function datasetRoutes(deps: AppDeps) {
  const { store, objects, config } = deps;
  const admin = requireRole(deps, 'admin');
  const imageDeps: DatasetImageDeps = {
    store,
    objects,
    maxBytes: config.limits.sampleMaxBytes,
    maxPixels: config.limits.sampleMaxPixels,
  };
  const datasetName = (raw: string) => parseWith(DatasetNameSchema, raw, 'dataset name');

  function findVersion(id: string) {
    const version = store.datasets.getVersion(id);
    if (!version) throw new NotFoundError(`dataset version '${id}' not found`);
    return version;
  }

  return new Hono<AppEnv>()
    .get('/datasets', admin, (c) => c.json({ datasets: store.datasets.listDatasets() }))
    .get('/datasets/:name/images', admin, (c) => {
      const { images, total } = store.datasets.listImages(datasetName(c.req.param('name')), {
        limit: Math.max(1, pageParam(c.req.query('limit'), 'limit', 100, 1000)),
        offset: pageParam(c.req.query('offset'), 'offset', 0, Number.MAX_SAFE_INTEGER),
      });
      return c.json({
        images: images.map(({ objectKey: _k, contentType: _c, ...image }) => image),
        total,
      });
    })
    .post(
      '/datasets/:name/images',
      admin,
      limitBody(config.limits.sampleMaxBytes + FORM_OVERHEAD_BYTES, 'dataset image upload'),
      async (c) => {
        const form = await readForm(c);
        const image = form.get('image');
        if (image === null || typeof image === 'string') {
          throw new ValidationError("multipart field 'image' is required as a file");
        }
        const label = parseWith(ClassNameSchema, formText(form, 'label'), 'label');
        const source = form.get('source');
        const result = await addDatasetImage(imageDeps, {
          dataset: datasetName(c.req.param('name')),
          label,
          bytes: new Uint8Array(await image.arrayBuffer()),
          source: typeof source === 'string' ? source : `upload:${image.name}`,
          actor: actorOf(c),
        });
        return c.json(result, result.duplicate ? 200 : 201);
      },
    )
    .post('/datasets/:name/import', admin, async (c) => {
      const request = await readJson(c, DatasetImportSchema, 'dataset import');
      const result = await importIntoDataset(
        imageDeps,
        datasetName(c.req.param('name')),
        request,
        actorOf(c),
      );
      deps.logger.info(
        { dataset: c.req.param('name'), ...result, failed: result.failed.length },
        'dataset import',
      );
      return c.json(result);
    })
    .post('/dataset-versions', admin, async (c) => {
      const request = await readJson(c, CreateDatasetVersionSchema, 'dataset version request');
      const { version, created } = snapshotDataset(store, {
        base: request.base,
        until: request.until,
        actor: actorOf(c),
      });
      return c.json(version, created ? 201 : 200);
    })
    .get('/dataset-versions', admin, (c) => c.json({ versions: store.datasets.listVersions() }))
    .get('/dataset-versions/:id', admin, (c) => {
      const version = findVersion(c.req.param('id'));
      const entries = store.datasets.versionEntries(version.id).map(({ objectKey: _k, ...entry }) => entry);
      return c.json({ version, entries });
    })
    .get('/dataset-versions/:id/images/:sha256', admin, async (c) => {
      const version = findVersion(c.req.param('id'));
      const entry = store.datasets.versionEntry(version.id, c.req.param('sha256'));
      if (!entry) throw new NotFoundError(`version ${version.id} has no image ${c.req.param('sha256')}`);
      const bytes = await objects.get(entry.objectKey);
      return new Response(bytes, {
        headers: { 'Content-Type': entry.contentType, 'Content-Length': String(bytes.byteLength) },
      });
    });
}
