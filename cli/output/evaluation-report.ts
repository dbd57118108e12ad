/** Text view of an evaluation report: accuracy, per-class precision/recall/F1, confusion, latency. */
import type { EvaluationReport } from '@edgeloop/trainer';
import { formatEceDetail } from './ece-detail.ts';

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

export function formatReport(r: EvaluationReport): string {
  const lines = [
    `${r.model}: accuracy ${pct(r.accuracy)} on ${r.n} images (macro F1 ${r.macroF1.toFixed(3)}, ECE ${r.ece.toFixed(3)})`,
    `  ${formatEceDetail(r.eceDetail, r.n)}`,
  ];
  if (r.reference) {
    lines.push(
      `reference ${r.reference.model}: accuracy ${pct(r.reference.accuracy)}, top-1 agreement ${pct(r.reference.agreement)}`,
    );
  }
  lines.push(
    `latency per image: p50 ${r.latencyMs.p50.toFixed(2)} ms, p95 ${r.latencyMs.p95.toFixed(2)} ms (${r.latencyMs.threads} thread${r.latencyMs.threads > 1 ? 's' : ''})${r.reference ? `; reference p50 ${r.reference.latencyMs.p50.toFixed(2)} ms, p95 ${r.reference.latencyMs.p95.toFixed(2)} ms` : ''}`,
  );
  if (r.unknownClasses.length)
    lines.push(`dataset classes the model does not know (skipped): ${r.unknownClasses.join(', ')}`);
  if (r.missingClasses.length) lines.push(`model classes with no images: ${r.missingClasses.join(', ')}`);
  if (r.skipped.length) lines.push(`unreadable images skipped: ${r.skipped.length}`);
  const w = Math.max(5, ...r.labels.map((l) => l.length));
  lines.push('', `${'class'.padEnd(w)}  support  precision  recall     F1`);
  for (const c of r.perClass) {
    lines.push(
      `${c.label.padEnd(w)}  ${String(c.support).padStart(7)}  ${c.precision.toFixed(3).padStart(9)}  ${c.recall.toFixed(3).padStart(6)}  ${c.f1.toFixed(3).padStart(5)}`,
    );
  }
  const cell = Math.max(4, ...r.confusion.flat().map((v) => String(v).length)) + 1;
  lines.push('', `confusion matrix (rows: true class, columns: predicted, in label order)`);
  r.confusion.forEach((row, i) => {
    lines.push(`${r.labels[i].padEnd(w)} ${row.map((v) => String(v).padStart(cell)).join('')}`);
  });
  return `${lines.join('\n')}\n`;
}
