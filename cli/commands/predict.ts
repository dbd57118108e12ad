/** `edgeloop predict`: top-k labels for image files with a trained model folder. */
import { ValidationError } from '@edgeloop/shared';
import { formatHelp } from '../options/format-help.ts';
import { defineCommand, type OptionDefs, type ParsedArgs } from '../options/option-types.ts';

const options = {
  model: { type: 'string', value: 'DIR', description: 'a model folder written by edgeloop train' },
  'top-k': { type: 'number', value: 'N', default: 3, description: 'how many labels to print' },
  json: { type: 'boolean', default: false, description: 'print JSON instead of text' },
} as const satisfies OptionDefs;

export const predictCommand = defineCommand({
  name: 'predict',
  summary: 'classify image files with a trained model folder',
  usage: 'edgeloop predict --model DIR IMAGE...',
  description: 'Prints the top-k labels with confidence for each image, using DIR/model.onnx.',
  positionals: true,
  options,
  run: (args): Promise<number> => predict(args),
});

async function predict({ values, positionals }: ParsedArgs<typeof options>): Promise<number> {
  if (!values.model || positionals.length === 0) {
    throw new ValidationError(`--model and at least one image are required\n\n${formatHelp(predictCommand)}`);
  }
  const { predictImages } = await import('@edgeloop/trainer');
  const results = await predictImages(values.model, positionals, values['top-k']);
  if (values.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else {
    for (const r of results) {
      process.stdout.write(
        `${r.image}: ${r.topK.map((t) => `${t.label} ${(t.confidence * 100).toFixed(1)}%`).join(', ')}\n`,
      );
    }
  }
  return 0;
}
