/**
 * Opens an ONNX classifier — a model folder (model.onnx + manifest.json/labels.json) or a bare
 * .onnx file — and works out its labels and input spec: explicit flags first, then the folder's
 * manifest, then the model's metadata_props, then what the input's type and shape imply.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  EdgeloopError,
  type InputSpec,
  InputSpecSchema,
  LabelsSchema,
  MODEL_FOLDER,
  parseArtifact,
  readModelFolder,
} from '@edgeloop/shared';
import { inputSpecFromMetadata, labelsFromMetadata } from '../onnx/metadata.ts';
import { DataType, type OnnxModel } from '../onnx/onnx-proto.ts';
import { decodeModel } from '../onnx/onnx-reader.ts';
import { classifierShape } from '../quantize/prepare-graph.ts';

export type Classifier = {
  path: string;
  bytes: Uint8Array;
  model: OnnxModel;
  labels: string[];
  spec: InputSpec;
};

export type ClassifierOverrides = {
  /** A JSON array file of class names. */
  labelsFile?: string;
  /** An InputSpec as JSON text or a path to a JSON file; may be partial (merged over the model's shape). */
  inputSpec?: string;
};

async function readJson(pathOrJson: string, what: string): Promise<unknown> {
  const text =
    pathOrJson.trim().startsWith('{') || pathOrJson.trim().startsWith('[')
      ? pathOrJson
      : await readFile(pathOrJson, 'utf8').catch((err) => {
          throw new EdgeloopError(
            'VALIDATION_FAILED',
            `cannot read ${what} ${pathOrJson}: ${(err as Error).message}`,
          );
        });
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new EdgeloopError('VALIDATION_FAILED', `${what} is not valid JSON: ${(err as Error).message}`);
  }
}

export async function loadLabelsFile(path: string): Promise<string[]> {
  return parseArtifact(LabelsSchema, await readJson(path, 'labels file'), path, 'VALIDATION_FAILED');
}

/** The spec a model's own input implies, with `partial` (JSON) merged over it and validated. */
export async function resolveInputSpec(model: OnnxModel, partial?: string): Promise<InputSpec> {
  const shape = classifierShape(model);
  const input =
    model.inputs.find((i) => !model.initializers.some((t) => t.name === i.name)) ?? model.inputs[0];
  const implied = {
    name: input.name,
    dtype: input.elemType === DataType.UINT8 ? 'uint8' : 'float32',
    layout: shape.layout,
    width: shape.width,
    height: shape.height,
    channels: 3,
  };
  const given = partial
    ? await readJson(partial, 'input spec')
    : (inputSpecFromMetadata(model.metadata) ?? {});
  const parsed = InputSpecSchema.safeParse({ ...implied, ...(given as object) });
  if (!parsed.success)
    throw new EdgeloopError('VALIDATION_FAILED', `invalid input spec: ${parsed.error.message}`);
  const spec = parsed.data;
  if (
    spec.dtype === 'float32' &&
    spec.normalization.kind === 'none' &&
    !partial &&
    !inputSpecFromMetadata(model.metadata)
  ) {
    throw new EdgeloopError(
      'VALIDATION_FAILED',
      `model input ${input.name} is float32 and carries no input spec: pass --input-spec, e.g. '{"normalization":{"kind":"mean-std","mean":[0.485,0.456,0.406],"std":[0.229,0.224,0.225]}}'`,
    );
  }
  if (
    spec.name !== input.name ||
    spec.layout !== shape.layout ||
    spec.width !== shape.width ||
    spec.height !== shape.height
  ) {
    throw new EdgeloopError(
      'VALIDATION_FAILED',
      `input spec (${spec.name} ${spec.layout} ${spec.width}x${spec.height}) does not match the model input (${input.name} ${shape.layout} ${shape.width}x${shape.height})`,
    );
  }
  if ((spec.dtype === 'uint8') !== (input.elemType === DataType.UINT8)) {
    throw new EdgeloopError(
      'VALIDATION_FAILED',
      `input spec dtype ${spec.dtype} does not match the model input's element type`,
    );
  }
  return spec;
}

export async function loadClassifier(path: string, overrides: ClassifierOverrides = {}): Promise<Classifier> {
  const isDir = (await stat(path).catch(() => null))?.isDirectory() ?? false;
  const file = isDir ? join(path, 'model.onnx') : path;
  const bytes = new Uint8Array(
    await readFile(file).catch((err) => {
      throw new EdgeloopError('VALIDATION_FAILED', `cannot read model ${file}: ${(err as Error).message}`);
    }),
  );
  const model = decodeModel(bytes);
  const shape = classifierShape(model);
  const folder = isDir ? path : dirname(path);
  // A model folder's files are validated (a corrupted one is reported, not ignored); beside a bare
  // .onnx file, a manifest.json is only a hint.
  const manifest: { labels?: string[]; input?: unknown } | null =
    isDir && (await stat(join(folder, MODEL_FOLDER.manifest)).catch(() => null))
      ? (await readModelFolder(folder))[MODEL_FOLDER.manifest]
      : await readFile(join(folder, MODEL_FOLDER.manifest), 'utf8')
          .then((t) => JSON.parse(t) as { labels?: string[]; input?: unknown })
          .catch(() => null);
  let labels: string[] | null = null;
  if (overrides.labelsFile) labels = await loadLabelsFile(overrides.labelsFile);
  else labels = labelsFromMetadata(model.metadata) ?? (isDir ? (manifest?.labels ?? null) : null);
  if (!labels && isDir) labels = await loadLabelsFile(join(folder, 'labels.json')).catch(() => null);
  if (!labels)
    throw new EdgeloopError('VALIDATION_FAILED', `no labels for ${file}: pass --labels FILE (a JSON array)`);
  if (labels.length !== shape.classes) {
    throw new EdgeloopError(
      'VALIDATION_FAILED',
      `${labels.length} labels but the model outputs ${shape.classes} classes`,
    );
  }
  const specOverride =
    overrides.inputSpec ?? (isDir && manifest?.input ? JSON.stringify(manifest.input) : undefined);
  const spec = await resolveInputSpec(model, specOverride);
  return { path: file, bytes, model, labels, spec };
}
