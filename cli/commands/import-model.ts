/** `edgeloop import-model`: register an external ONNX classifier as a model version. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { apiClient, CONNECTION_OPTIONS } from '../options/connection-options.ts';
import { MODEL_VERSION_OPTION } from '../options/model-options.ts';
import { defineCommand, type OptionDefs, type ParsedArgs } from '../options/option-types.ts';

const options = {
  onnx: {
    type: 'string',
    value: 'FILE',
    required: true,
    description: 'the classifier (one image input, one [N, classes] output)',
  },
  labels: {
    type: 'string',
    value: 'FILE',
    required: true,
    description: 'JSON array of class names, in output order',
  },
  'input-spec': {
    type: 'string',
    value: 'JSON',
    description:
      'how to feed it, as JSON text or a file, merged over what the input implies, e.g. \'{"normalization":{"kind":"mean-std","mean":[0.485,0.456,0.406],"std":[0.229,0.224,0.225]}}\' (required for float inputs unless the model\'s metadata has input_spec)',
  },
  name: { type: 'string', value: 'NAME', description: 'model name', defaultText: 'the file name' },
  family: {
    type: 'string',
    value: 'NAME',
    description: 'architecture family recorded in the manifest',
    defaultText: 'imported',
  },
  out: { type: 'string', value: 'DIR', description: 'keep the model folder written for the upload here' },
  ...MODEL_VERSION_OPTION,
  ...CONNECTION_OPTIONS,
  token: { type: 'string', value: 'T', description: 'alias of --admin-token' },
} as const satisfies OptionDefs;

export const importModelCommand = defineCommand({
  name: 'import-model',
  summary: 'register an external ONNX classifier (labels + input spec) as a model version',
  usage: 'edgeloop import-model --onnx FILE --labels FILE [--input-spec JSON] [options]',
  description:
    'Checks an external ONNX image classifier against its labels and input spec, and publishes it to the control plane as the next model version (the control plane signs it), like a trained model.',
  options,
  run: (args): Promise<number> => importModel(args),
});

async function importModel({ values, explicit }: ParsedArgs<typeof options>): Promise<number> {
  // --token is the older spelling: it wins over the env var, not over --admin-token.
  const token = explicit.has('admin-token') ? values['admin-token'] : (values.token ?? values['admin-token']);
  const api = apiClient({ 'control-plane': values['control-plane'], 'admin-token': token });
  const trainer = await import('@edgeloop/trainer');
  const outDir = values.out ?? (await mkdtemp(join(tmpdir(), 'edgeloop-import-')));
  try {
    const { imported, summary } = await trainer.importModel(api, {
      onnxPath: values.onnx,
      labelsFile: values.labels,
      inputSpec: values['input-spec'],
      name: values.name ?? basename(values.onnx).replace(/\.onnx$/i, ''),
      family: values.family,
      outDir,
      modelVersion: values['model-version'],
    });
    const s = imported.spec;
    process.stdout.write(
      `imported ${values.onnx} as version ${summary.modelVersion}: ${imported.labels.length} classes, input ${s.dtype} ${s.layout} ${s.width}x${s.height} (${s.normalization.kind}), ${imported.manifest.architecture.quantization}\n`,
    );
    return 0;
  } finally {
    if (!values.out) await rm(outDir, { recursive: true, force: true });
  }
}
