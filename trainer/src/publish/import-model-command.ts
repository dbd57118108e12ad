/** `edgeloop import-model`: register an external ONNX classifier as a model version. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ApiClient, EdgeloopError } from '@edgeloop/shared';
import { importModel } from './import-model.ts';

const HELP = `Usage: edgeloop import-model --onnx FILE --labels FILE [--input-spec JSON] [options]

Checks an external ONNX image classifier against its labels and input spec, and publishes it to
the control plane as the next model version (the control plane signs it), like a trained model.

  --onnx FILE           the classifier (one image input, one [N, classes] output)
  --labels FILE         JSON array of class names, in output order
  --input-spec JSON     how to feed it, as JSON text or a file, merged over what the input implies,
                        e.g. '{"normalization":{"kind":"mean-std","mean":[0.485,0.456,0.406],"std":[0.229,0.224,0.225]}}'
                        (required for float inputs unless the model's metadata has input_spec)
  --name NAME           model name (default: the file name)
  --family NAME         architecture family recorded in the manifest (default: imported)
  --out DIR             keep the model folder written for the upload here
  --model-version N     version to publish (default: the next free one)
  --control-plane URL   (env EDGELOOP_URL)
  --admin-token T       (env EDGELOOP_ADMIN_TOKEN; --token is an alias)
  -h, --help            show this help
`;

export async function importModelCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      onnx: { type: 'string' },
      labels: { type: 'string' },
      'input-spec': { type: 'string' },
      name: { type: 'string' },
      family: { type: 'string' },
      out: { type: 'string' },
      'model-version': { type: 'string' },
      'control-plane': { type: 'string' },
      'admin-token': { type: 'string' },
      token: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!values.onnx || !values.labels) {
    throw new EdgeloopError('VALIDATION_FAILED', `--onnx and --labels are required\n\n${HELP}`);
  }
  const url = values['control-plane'] ?? process.env.EDGELOOP_URL;
  const token = values['admin-token'] ?? values.token ?? process.env.EDGELOOP_ADMIN_TOKEN;
  if (!url || !token) {
    throw new EdgeloopError(
      'CONFIG_INVALID',
      'this needs --control-plane URL and --admin-token T (or EDGELOOP_URL and EDGELOOP_ADMIN_TOKEN)',
    );
  }
  const version = values['model-version'] ? Number(values['model-version']) : undefined;
  if (version !== undefined && !(Number.isInteger(version) && version > 0)) {
    throw new EdgeloopError(
      'VALIDATION_FAILED',
      `--model-version must be a positive integer, got '${values['model-version']}'`,
    );
  }
  const outDir = values.out ?? (await mkdtemp(join(tmpdir(), 'edgeloop-import-')));
  try {
    const { imported, summary } = await importModel(new ApiClient(url, token), {
      onnxPath: values.onnx,
      labelsFile: values.labels,
      inputSpec: values['input-spec'],
      name: values.name ?? basename(values.onnx).replace(/\.onnx$/i, ''),
      family: values.family,
      outDir,
      modelVersion: version,
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
