/** The model registry beyond upload: lineage, aliases, side-by-side comparison and promotion. */
import { AliasNameSchema, parseWith, ValidationError } from '@edgeloop/shared';
import { compareModels } from '../../models/model-comparison.ts';
import { promote, resolveModel } from '../../models/promotion.ts';
import { actorOf } from '../actor.ts';
import { handlers } from '../contract-routes.ts';
import type { AppDeps } from '../env.ts';

export function registryHandlers(deps: AppDeps) {
  const { store, config } = deps;
  return handlers({
    listAliases: async () => ({ status: 200, body: { aliases: await store.registry.listAliases() } }),
    setAlias: async ({ params, body }, c) => {
      const alias = parseWith(AliasNameSchema, params.name, 'alias');
      const model = await resolveModel(store, String(body.modelVersion));
      await store.registry.setAlias(alias, model.modelVersion, actorOf(c), new Date().toISOString());
      const saved = await store.registry.getAlias(alias);
      if (!saved) throw new Error(`alias '${alias}' vanished after it was set`);
      // Cameras that name the alias (`cameras[].model`) follow it.
      await deps.desired.republishAll();
      return { status: 200, body: saved };
    },
    compareModels: async ({ query }) => {
      const comparison = compareModels(
        await resolveModel(store, query.a),
        await resolveModel(store, query.b),
      );
      if (comparison === null) {
        throw new ValidationError(
          'both versions need metrics with accuracy, perClass and confusion to compare',
        );
      }
      return { status: 200, body: comparison };
    },
    getModelDetails: async ({ params }) => {
      const model = await resolveModel(store, params.ref);
      return {
        status: 200,
        body: {
          modelVersion: model.modelVersion,
          lineage: await store.registry.getLineage(model.modelVersion),
          aliases: (await store.registry.listAliases())
            .filter((a) => a.modelVersion === model.modelVersion)
            .map((a) => a.alias),
          promotions: await store.registry.promotionsOf(model.modelVersion),
        },
      };
    },
    setLineage: async ({ params, body }, c) => {
      const model = await resolveModel(store, params.ref);
      // The recorded actor is the caller (actor.ts), never a name the body claims.
      await store.registry.setLineage(model.modelVersion, { ...body, createdBy: actorOf(c) });
      const saved = await store.registry.getLineage(model.modelVersion);
      if (!saved) throw new Error(`lineage of ${model.modelVersion} vanished after it was set`);
      return { status: 200, body: saved };
    },
    promoteModel: async ({ params, body }, c) => {
      const decision = await promote(
        store,
        params.ref,
        {
          margin: body.margin ?? config.registry.promotionMargin,
          tolerance: body.tolerance ?? config.registry.classTolerance,
        },
        actorOf(c),
      );
      deps.logger.info(
        { candidate: decision.candidate, promoted: decision.promoted, reason: decision.reason },
        'promotion decided',
      );
      if (decision.promoted) await deps.desired.republishAll();
      return { status: 200, body: decision };
    },
  });
}
