/** `edgeloop evaluate`: scores an ONNX classifier on a folder-per-class dataset with onnxruntime. */
import { parseArgs } from 'node:util';
import { EdgeloopError } from '@edgeloop/shared';
import { type EvaluationReport, evaluateClassifier } from './evaluate-model.ts';
import { loadClassifier } from './load-classifier.ts';

const HELP = `Usage: edgeloop evaluate --model DIR_OR_ONNX --data DIR [options]

Runs the model in onnxruntime over DIR/<class>/*.jpg (DIR/test or DIR/validation when present),
matching classes by name, and prints accuracy, per-class precision/recall/F1, the confusion matrix
and per-image latency.

  --model PATH        a model folder (model.onnx + manifest/labels) or an .onnx file
  --data DIR          folder-per-class images
  --reference PATH    a second model (e.g. the fp32 original) to measure top-1 agreement with
  --labels FILE       JSON array of class names (when the model carries none)
  --input-spec JSON   input spec as JSON text or file (float models without one in their metadata)
  --threads N         onnxruntime intra-op threads (default 1)
  --json              print one JSON object: {accuracy, n, agreement?, latencyMs, perClass, confusion, …}
  -h, --help          show this help
`;

export async function evaluateCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      data: { type: 'string' },
      reference: { type: 'string' },
      labels: { type: 'string' },
      'input-spec': { type: 'string' },
      threads: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!values.model || !values.data) {
    throw new EdgeloopError('VALIDATION_FAILED', `--model and --data are required\n\n${HELP}`);
  }
  const threads = Number(values.threads);
  if (!Number.isInteger(threads) || threads < 1) {
    throw new EdgeloopError(
      'VALIDATION_FAILED',
      `--threads must be a positive integer, got '${values.threads}'`,
    );
  }
  const overrides = { labelsFile: values.labels, inputSpec: values['input-spec'] };
  const model = await loadClassifier(values.model, overrides);
  const reference = values.reference ? await loadClassifier(values.reference, overrides) : undefined;
  const report = await evaluateClassifier(model, values.data, { threads, reference });
  if (values.json) {
    const json = { ...report, ...(report.reference ? { agreement: report.reference.agreement } : {}) };
    process.stdout.write(`${JSON.stringify(json)}\n`);
  } else process.stdout.write(formatReport(report));
  return 0;
}

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

export function formatReport(r: EvaluationReport): string {
  const lines = [
    `${r.model}: accuracy ${pct(r.accuracy)} on ${r.n} images (macro F1 ${r.macroF1.toFixed(3)})`,
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
