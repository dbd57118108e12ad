/** Model versions: upload (admin), list (admin), manifest and files (admin or device). */
import { ModelLineageSchema, NotFoundError, parseJsonWith } from '@edgeloop/shared';
import { Hono } from 'hono';
import { createModelRegistry, modelFileKey, summaryOf } from '../../models/model-registry.ts';
import { actorOf } from '../actor.ts';
import { requireRole } from '../auth.ts';
import { formText, limitBody, readForm } from '../body.ts';
import type { AppDeps, AppEnv } from '../env.ts';
import { rangedResponse } from '../range.ts';

/** Room for the manifest, metrics and multipart framing on top of the files themselves. */
const FORM_OVERHEAD_BYTES = 1024 * 1024;

function versionParam(raw: string): number {
  const version = Number(raw);
  if (!Number.isSafeInteger(version) || version <= 0)
    throw new NotFoundError(`model version '${raw}' not found`);
  return version;
}

export function modelRoutes(deps: AppDeps) {
  const { store, objects, config } = deps;
  const registry =
    deps.models ??
    createModelRegistry({
      store,
      objects,
      signingKey: deps.signingKey,
      manifestTtlDays: config.manifestTtlDays,
      modelMaxBytes: config.limits.modelMaxBytes,
    });

  function findVersion(raw: string) {
    const record = store.getModelVersion(versionParam(raw));
    if (!record) throw new NotFoundError(`model version '${raw}' not found`);
    return record;
  }

  return new Hono<AppEnv>()
    .post(
      '/models',
      requireRole(deps, 'admin'),
      limitBody(config.limits.modelMaxBytes + FORM_OVERHEAD_BYTES, 'model upload'),
      async (c) => {
        const form = await readForm(c);
        const files = new Map<string, Uint8Array>();
        for (const [field, value] of form.entries()) {
          if (typeof value !== 'string') files.set(field, new Uint8Array(await value.arrayBuffer()));
        }
        const metrics = form.get('metrics');
        const summary = await registry.publish({
          manifestJson: formText(form, 'manifest'),
          metricsJson: typeof metrics === 'string' ? metrics : undefined,
          files,
        });
        // Who made it and from what: the uploader's lineage, or at least its architecture and actor.
        const lineageText = form.get('lineage');
        const lineage =
          typeof lineageText === 'string'
            ? parseJsonWith(ModelLineageSchema, lineageText, 'lineage')
            : ModelLineageSchema.parse({});
        store.registry.setLineage(summary.modelVersion, {
          ...lineage,
          parameters: {
            architecture: store.getModelVersion(summary.modelVersion)?.manifest.architecture,
            ...lineage.parameters,
          },
          createdBy: lineage.createdBy ?? actorOf(c),
        });
        deps.logger.info(
          { modelVersion: summary.modelVersion, name: summary.name },
          'model version published',
        );
        return c.json(summary, 201);
      },
    )
    .get('/models', requireRole(deps, 'admin'), (c) =>
      c.json({ models: store.listModelVersions().map(summaryOf) }),
    )
    .get('/models/:version/manifest', requireRole(deps, 'admin', 'device'), (c) =>
      c.json(deps.signer.current(findVersion(c.req.param('version')).modelVersion)),
    )
    .get('/models/:version/rollback-manifest', requireRole(deps, 'admin', 'device'), (c) => {
      const version = findVersion(c.req.param('version')).modelVersion;
      const manifest = deps.signer.rollback(version);
      if (!manifest) throw new NotFoundError(`no rollback to version ${version} has been ordered`);
      return c.json(manifest);
    })
    .get('/models/:version/files/:name', requireRole(deps, 'admin', 'device'), async (c) => {
      const record = findVersion(c.req.param('version'));
      const file = record.manifest.files.find((f) => f.name === c.req.param('name'));
      if (!file) throw new NotFoundError(`model ${record.modelVersion} has no file '${c.req.param('name')}'`);
      const bytes = await objects.get(modelFileKey(record.modelVersion, file.name));
      return rangedResponse(bytes, c.req.header('range'), {
        'Content-Type': 'application/octet-stream',
        ETag: `"${file.sha256}"`,
      });
    });
}
