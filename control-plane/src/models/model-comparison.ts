/**
 * Comparing model versions on the project's fixed evaluation set, and the promotion rule (pure).
 * A version's figures come from the metrics.json it was published with: `fixedSet` when present,
 * else the trainer's validation figures (`valAccuracy`, `perClass`, `confusion`) — which are the
 * fixed set when the model was trained on an exported dataset version (its validation split is
 * the `eval` dataset).
 */
import {
  type Evaluation,
  evaluationFigures,
  MODEL_FOLDER,
  type ModelComparison,
  ModelMetricsSchema,
  parseArtifact,
} from '@edgeloop/shared';
import type { ModelVersionRecord } from '../store/store.ts';

/**
 * The figures a version is ranked by, or null when its metrics have none. Metrics that do not
 * validate (a corrupted file, or a row stored before uploads were checked) throw MODEL_INVALID
 * naming `source` and the field, rather than silently counting as "no evaluation".
 */
export function evaluationOf(metrics: unknown, source: string = MODEL_FOLDER.metrics): Evaluation | null {
  if (metrics === null || metrics === undefined) return null;
  return evaluationFigures(parseArtifact(ModelMetricsSchema, metrics, source));
}

const metricsOf = (record: ModelVersionRecord) =>
  evaluationOf(record.metrics, `${MODEL_FOLDER.metrics} of model version ${record.modelVersion}`);

export function compareModels(a: ModelVersionRecord, b: ModelVersionRecord): ModelComparison | null {
  const ea = metricsOf(a);
  const eb = metricsOf(b);
  if (ea === null || eb === null) return null;
  const labels = [...new Set([...ea.perClass.map((c) => c.label), ...eb.perClass.map((c) => c.label)])];
  const strip = (e: Evaluation, label: string) => {
    const c = e.perClass.find((x) => x.label === label);
    return c ? { support: c.support, precision: c.precision, recall: c.recall } : null;
  };
  return {
    a: a.modelVersion,
    b: b.modelVersion,
    accuracy: { a: ea.accuracy, b: eb.accuracy, delta: eb.accuracy - ea.accuracy },
    perClass: labels.map((label) => {
      const ca = strip(ea, label);
      const cb = strip(eb, label);
      return { label, a: ca, b: cb, recallDelta: ca && cb ? cb.recall - ca.recall : null };
    }),
    confusion: {
      a: { labels: a.manifest.labels, matrix: ea.confusion },
      b: { labels: b.manifest.labels, matrix: eb.confusion },
    },
  };
}

export interface PromotionRule {
  /** The candidate's fixed-set accuracy must exceed production's by at least this much. */
  margin: number;
  /** No class's recall may drop by more than this. */
  tolerance: number;
}

export interface PromotionVerdict {
  promoted: boolean;
  reason: string;
  details: Record<string, unknown>;
}

export function judgePromotion(
  candidate: ModelVersionRecord,
  production: ModelVersionRecord | null,
  rule: PromotionRule,
): PromotionVerdict {
  const details: Record<string, unknown> = { rule };
  if (metricsOf(candidate) === null) {
    return { promoted: false, reason: 'the candidate has no evaluation on the fixed set', details };
  }
  if (production === null) return { promoted: true, reason: 'there is no production model yet', details };
  if (production.modelVersion === candidate.modelVersion) {
    return { promoted: false, reason: `version ${candidate.modelVersion} is already production`, details };
  }
  const comparison = compareModels(production, candidate);
  if (comparison === null) {
    return {
      promoted: false,
      reason: 'production has no evaluation on the fixed set to compare with',
      details,
    };
  }
  details.accuracy = comparison.accuracy;
  const regressions = comparison.perClass
    .filter((c) => c.a !== null)
    .filter((c) => c.b === null || c.a!.recall - c.b.recall > rule.tolerance)
    .map((c) => ({ label: c.label, production: c.a!.recall, candidate: c.b?.recall ?? null }));
  details.regressions = regressions;
  const delta = comparison.accuracy.delta;
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  if (delta <= 0 || delta < rule.margin) {
    return {
      promoted: false,
      reason: `accuracy ${pct(comparison.accuracy.b)} vs production ${pct(comparison.accuracy.a)}: gain ${pct(delta)} is below the margin ${pct(rule.margin)}`,
      details,
    };
  }
  if (regressions.length > 0) {
    const worst = regressions
      .map(
        (r) => `${r.label} ${r.candidate === null ? 'missing' : `${pct(r.production)}→${pct(r.candidate)}`}`,
      )
      .join(', ');
    return {
      promoted: false,
      reason: `recall regresses beyond the tolerance ${pct(rule.tolerance)} on: ${worst}`,
      details,
    };
  }
  return {
    promoted: true,
    reason: `accuracy ${pct(comparison.accuracy.b)} beats production ${pct(comparison.accuracy.a)} by ${pct(delta)} with no class regressing beyond ${pct(rule.tolerance)}`,
    details,
  };
}
