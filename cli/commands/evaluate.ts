/** `edgeloop evaluate`: score an ONNX classifier on a folder-per-class dataset with onnxruntime. */
import { MODEL_METADATA_OPTIONS } from '../options/model-options.ts';
import { defineCommand, type OptionDefs, type ParsedArgs } from '../options/option-types.ts';
import { formatReport } from '../output/evaluation-report.ts';

const options = {
  model: {
    type: 'string',
    value: 'PATH',
    required: true,
    description: 'a model folder (model.onnx + manifest/labels) or an .onnx file',
  },
  data: { type: 'string', value: 'DIR', required: true, description: 'folder-per-class images' },
  reference: {
    type: 'string',
    value: 'PATH',
    description: 'a second model (e.g. the fp32 original) to measure top-1 agreement with',
  },
  ...MODEL_METADATA_OPTIONS,
  threads: {
    type: 'number',
    value: 'N',
    integer: true,
    min: 1,
    default: 1,
    description: 'onnxruntime intra-op threads',
  },
  json: {
    type: 'boolean',
    default: false,
    description: 'print one JSON object: {accuracy, n, ece, agreement?, latencyMs, perClass, confusion, …}',
  },
} as const satisfies OptionDefs;

export const evaluateCommand = defineCommand({
  name: 'evaluate',
  summary: 'score an ONNX classifier on a folder-per-class dataset (accuracy, F1, latency)',
  usage: 'edgeloop evaluate --model DIR_OR_ONNX --data DIR [options]',
  description:
    'Runs the model in onnxruntime over DIR/<class>/*.jpg (DIR/test or DIR/validation when present), matching classes by name, and prints accuracy, expected calibration error (ECE, 15 bins), per-class precision/recall/F1, the confusion matrix and per-image latency.',
  options,
  run: (args): Promise<number> => evaluate(args),
});

async function evaluate({ values }: ParsedArgs<typeof options>): Promise<number> {
  const { evaluateClassifier, loadClassifier } = await import('@edgeloop/trainer');
  const overrides = { labelsFile: values.labels, inputSpec: values['input-spec'] };
  const model = await loadClassifier(values.model, overrides);
  const reference = values.reference ? await loadClassifier(values.reference, overrides) : undefined;
  const report = await evaluateClassifier(model, values.data, { threads: values.threads, reference });
  if (values.json) {
    const json = { ...report, ...(report.reference ? { agreement: report.reference.agreement } : {}) };
    process.stdout.write(`${JSON.stringify(json)}\n`);
  } else process.stdout.write(formatReport(report));
  return 0;
}
