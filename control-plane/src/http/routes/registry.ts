/** The model registry beyond upload: lineage, aliases, side-by-side comparison and promotion. */
import {
  AliasNameSchema,
  ModelLineageSchema,
  PromoteSchema,
  parseWith,
  SetAliasSchema,
  ValidationError,
} from '@edgeloop/shared';
import { Hono } from 'hono';
import { compareModels } from '../../models/model-comparison.ts';
import { promote, resolveModel } from '../../models/promotion.ts';
import { actorOf } from '../actor.ts';
import { requireRole } from '../auth.ts';
import { readJson } from '../body.ts';
import type { AppDeps, AppEnv } from '../env.ts';

export function registryRoutes(deps: AppDeps) {
  const { store, config } = deps;
  const admin = requireRole(deps, 'admin');

  return new Hono<AppEnv>()
    .get('/aliases', admin, (c) => c.json({ aliases: store.registry.listAliases() }))
    .put('/aliases/:name', admin, async (c) => {
      const alias = parseWith(AliasNameSchema, c.req.param('name'), 'alias');
      const request = await readJson(c, SetAliasSchema, 'alias request');
      const model = resolveModel(store, String(request.modelVersion));
      store.registry.setAlias(alias, model.modelVersion, actorOf(c), new Date().toISOString());
      return c.json(store.registry.getAlias(alias));
    })
    .get('/models/compare', admin, (c) => {
      const [a, b] = [c.req.query('a'), c.req.query('b')];
      if (!a || !b) throw new ValidationError("query 'a' and 'b' (versions or aliases) are required");
      const comparison = compareModels(resolveModel(store, a), resolveModel(store, b));
      if (comparison === null) {
        throw new ValidationError(
          'both versions need metrics with accuracy, perClass and confusion to compare',
        );
      }
      return c.json(comparison);
    })
    .get('/models/:ref/details', admin, (c) => {
      const model = resolveModel(store, c.req.param('ref'));
      return c.json({
        modelVersion: model.modelVersion,
        lineage: store.registry.getLineage(model.modelVersion),
        aliases: store.registry
          .listAliases()
          .filter((a) => a.modelVersion === model.modelVersion)
          .map((a) => a.alias),
        promotions: store.registry.promotionsOf(model.modelVersion),
      });
    })
    .put('/models/:ref/lineage', admin, async (c) => {
      const model = resolveModel(store, c.req.param('ref'));
      const lineage = await readJson(c, ModelLineageSchema, 'lineage');
      store.registry.setLineage(model.modelVersion, {
        ...lineage,
        createdBy: lineage.createdBy ?? actorOf(c),
      });
      return c.json(store.registry.getLineage(model.modelVersion));
    })
    .post('/models/:ref/promote', admin, async (c) => {
      const request = await readJson(c, PromoteSchema, 'promotion request');
      const decision = promote(
        store,
        c.req.param('ref'),
        {
          margin: request.margin ?? config.registry.promotionMargin,
          tolerance: request.tolerance ?? config.registry.classTolerance,
        },
        actorOf(c),
      );
      deps.logger.info(
        { candidate: decision.candidate, promoted: decision.promoted, reason: decision.reason },
        'promotion decided',
      );
      return c.json(decision);
    });
}
