/**
 * Model references and promotion: `7`, or an alias such as `production` or `candidate`. Promotion
 * judges a candidate against the current production model by the configured rule, records the
 * decision (promoted or not, and why) and, when it passes, points `production` at the candidate.
 */
import { NotFoundError, type PromotionDecision } from '@edgeloop/shared';
import type { ModelVersionRecord, Store } from '../store/store.ts';
import { judgePromotion, type PromotionRule } from './model-comparison.ts';

export const PRODUCTION_ALIAS = 'production';
export const CANDIDATE_ALIAS = 'candidate';

export async function resolveModel(store: Store, ref: string): Promise<ModelVersionRecord> {
  let version: number | null = null;
  if (/^\d+$/.test(ref)) version = Number(ref);
  else version = (await store.registry.getAlias(ref))?.modelVersion ?? null;
  const record = version === null ? null : await store.models.get(version);
  if (!record) throw new NotFoundError(`model '${ref}' not found (a version number or an alias)`);
  return record;
}

export async function promote(
  store: Store,
  candidateRef: string,
  rule: PromotionRule,
  actor: string,
  now = new Date(),
): Promise<PromotionDecision> {
  const candidate = await resolveModel(store, candidateRef);
  const productionVersion = (await store.registry.getAlias(PRODUCTION_ALIAS))?.modelVersion ?? null;
  const production = productionVersion === null ? null : await store.models.get(productionVersion);
  const verdict = judgePromotion(candidate, production, rule);
  const decision: PromotionDecision = {
    candidate: candidate.modelVersion,
    production: productionVersion,
    ...verdict,
    actor,
    at: now.toISOString(),
  };
  await store.registry.recordPromotion(decision);
  if (decision.promoted)
    await store.registry.setAlias(PRODUCTION_ALIAS, candidate.modelVersion, actor, decision.at);
  return decision;
}
