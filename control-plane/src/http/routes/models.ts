/** Model versions: upload, list, signed manifests and files (for people and devices). */
import { ModelLineageSchema, NotFoundError, parseJsonWith } from '@edgeloop/shared';
import { createModelRegistry, modelFileKey, summaryOf } from '../../models/model-registry.ts';
import { gatheredReads } from '../../store/gathered-reads.ts';
import type { ModelVersionRecord } from '../../store/records.ts';
import { actorOf } from '../actor.ts';
import { handlers } from '../contract-routes.ts';
import type { AppDeps } from '../env.ts';
import { rangedObjectResponse } from '../range.ts';

export function modelHandlers(deps: AppDeps) {
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

  // A rollout's devices ask for the same version by the thousand: one statement for all asked meanwhile.
  const readVersion = gatheredReads<ModelVersionRecord>(
    async (keys) =>
      new Map(
        [...(await store.models.getMany(keys.map(Number)))].map(([version, record]) => [
          String(version),
          record,
        ]),
      ),
  );

  async function findVersion(version: number) {
    const record = await readVersion(String(version));
    if (!record) throw new NotFoundError(`model version '${version}' not found`);
    return record;
  }

  return handlers({
    publishModel: async ({ body: form }, c) => {
      const { manifest, metrics, lineage: lineageText, ...fileFields } = form;
      const files = new Map<string, Uint8Array>();
      for (const [field, file] of Object.entries(fileFields)) {
        files.set(field, new Uint8Array(await file.arrayBuffer()));
      }
      const summary = await registry.publish({ manifestJson: manifest, metricsJson: metrics, files });
      // Who made it and from what: the uploader's lineage, or at least its architecture and actor.
      const lineage =
        lineageText === undefined
          ? ModelLineageSchema.parse({})
          : parseJsonWith(ModelLineageSchema, lineageText, 'lineage');
      await store.registry.setLineage(summary.modelVersion, {
        ...lineage,
        parameters: {
          architecture: (await store.models.get(summary.modelVersion))?.manifest.architecture,
          ...lineage.parameters,
        },
        // The caller, never a name the uploaded lineage claims.
        createdBy: actorOf(c),
      });
      deps.logger.info({ modelVersion: summary.modelVersion, name: summary.name }, 'model version published');
      return { status: 201, body: summary };
    },
    listModels: async () => ({ status: 200, body: { models: (await store.models.list()).map(summaryOf) } }),
    getManifest: async ({ params }) => {
      const record = await findVersion(params.version);
      return { status: 200, body: await deps.signer.current(record.modelVersion, new Date(), record) };
    },
    getRollbackManifest: async ({ params }) => {
      const version = (await findVersion(params.version)).modelVersion;
      const manifest = await deps.signer.rollback(version);
      if (!manifest) throw new NotFoundError(`no rollback to version ${version} has been ordered`);
      return { status: 200, body: manifest };
    },
    getModelFile: async ({ params }, c) => {
      const record = await findVersion(params.version);
      const file = record.manifest.files.find((f) => f.name === params.name);
      if (!file) throw new NotFoundError(`model ${record.modelVersion} has no file '${params.name}'`);
      const key = modelFileKey(record.modelVersion, file.name);
      // Devices fetch the bytes from the bucket themselves (and check the manifest's sha256);
      // people keep getting them from here. The Location is a credential: it is not logged.
      if (objects.presigner && c.get('principal')?.kind === 'device') {
        return new Response(null, {
          status: 307,
          headers: { Location: await objects.presigner.getUrl(key), 'Cache-Control': 'no-store' },
        });
      }
      return rangedObjectResponse(objects, key, c.req.header('range'), {
        'Content-Type': 'application/octet-stream',
        ETag: `"${file.sha256}"`,
      });
    },
  });
}
