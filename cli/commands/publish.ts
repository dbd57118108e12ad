/** `edgeloop publish`: upload a trained model folder to the control plane as a new version. */
import { apiClient, CONNECTION_OPTIONS } from '../options/connection-options.ts';
import { MODEL_VERSION_OPTION } from '../options/model-options.ts';
import { defineCommand, type OptionDefs, type ParsedArgs } from '../options/option-types.ts';

const options = {
  model: {
    type: 'string',
    value: 'DIR',
    required: true,
    description: 'a model folder written by edgeloop train',
  },
  ...CONNECTION_OPTIONS,
  ...MODEL_VERSION_OPTION,
} as const satisfies OptionDefs;

export const publishCommand = defineCommand({
  name: 'publish',
  summary: 'upload a trained model folder to the control plane as a new version',
  usage: 'edgeloop publish --model DIR [--control-plane URL] [--admin-token T] [--model-version N]',
  description:
    'Uploads a model folder to the control plane, which signs its manifest. Without --model-version the next free version is used.',
  options,
  run: (args): Promise<number> => publish(args),
});

async function publish({ values }: ParsedArgs<typeof options>): Promise<number> {
  const api = apiClient(values);
  const { publishModelDir } = await import('@edgeloop/trainer');
  const summary = await publishModelDir(api, values.model, { modelVersion: values['model-version'] });
  process.stdout.write(
    `published version ${summary.modelVersion} (${summary.files.map((f) => f.name).join(', ')})\n`,
  );
  return 0;
}
