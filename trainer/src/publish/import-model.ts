/**
 * Imports an external ONNX image classifier: checks it against its labels and input spec (one
 * image input matching the spec, one [N, classes] output with classes = number of labels), writes
 * a model folder like `edgeloop train` does (model.onnx, labels.json, manifest.json) and publishes
 * it through the same path as our own models, so it can be evaluated, quantized and rolled out.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type ApiClient,
  type InputSpec,
  MODEL_FOLDER,
  type ModelVersionSummary,
  PROTOCOL_VERSION,
  parseModelFolder,
  parseWith,
  sha256Hex,
  type UnsignedManifest,
  UnsignedManifestSchema,
} from '@edgeloop/shared';
import { loadClassifier } from '../evaluate/load-classifier.ts';
import { publishModelDir } from './publish.ts';

export type ImportOptions = {
  onnxPath: string;
  labelsFile?: string;
  inputSpec?: string;
  name: string;
  family?: string;
  /** The folder to write; it is what gets published. */
  outDir: string;
  /** An explicit version to ask for; without it the control plane gives the next free one. */
  modelVersion?: number;
};

export type ImportedModel = { dir: string; manifest: UnsignedManifest; labels: string[]; spec: InputSpec };

export async function prepareImport(options: ImportOptions): Promise<ImportedModel> {
  const c = await loadClassifier(options.onnxPath, {
    labelsFile: options.labelsFile,
    inputSpec: options.inputSpec,
  });
  const last = c.model.nodes.find((n) => n.outputs.includes(c.model.outputs[0].name));
  const quantized = c.model.nodes.some(
    (n) => n.opType === 'DequantizeLinear' || n.opType.startsWith('QLinear'),
  );
  const labelsJson = new TextEncoder().encode(`${JSON.stringify(c.labels, null, 2)}\n`);
  const now = new Date();
  const manifest = parseWith(
    UnsignedManifestSchema,
    {
      protocol: PROTOCOL_VERSION,
      name: options.name,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + 365 * 86_400_000).toISOString(),
      rollback: false,
      architecture: {
        family: options.family ?? 'imported',
        inputSize: c.spec.width === c.spec.height ? c.spec.width : undefined,
        quantization: quantized ? 'int8' : 'fp32',
      },
      labels: c.labels,
      input: c.spec,
      output: {
        name: c.model.outputs[0].name,
        kind: last?.opType === 'Softmax' ? 'probabilities' : 'logits',
      },
      files: [
        { name: 'model.onnx', role: 'model', sha256: sha256Hex(c.bytes), bytes: c.bytes.byteLength },
        { name: 'labels.json', role: 'labels', sha256: sha256Hex(labelsJson), bytes: labelsJson.byteLength },
      ],
    },
    'imported model manifest',
  );
  // The folder it writes is a model folder like any other: checked the same way before writing.
  parseModelFolder({ [MODEL_FOLDER.manifest]: manifest, [MODEL_FOLDER.labels]: c.labels }, options.outDir);
  await mkdir(options.outDir, { recursive: true });
  await writeFile(join(options.outDir, 'model.onnx'), c.bytes);
  await writeFile(join(options.outDir, 'labels.json'), labelsJson);
  await writeFile(join(options.outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return { dir: options.outDir, manifest, labels: c.labels, spec: c.spec };
}

export async function importModel(
  client: ApiClient,
  options: ImportOptions,
): Promise<{ imported: ImportedModel; summary: ModelVersionSummary }> {
  const imported = await prepareImport(options);
  const summary = await publishModelDir(client, imported.dir, { modelVersion: options.modelVersion });
  return { imported, summary };
}
