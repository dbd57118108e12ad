/**
 * `--base PATH|URL`: pretrained weights from a tfjs layers model (model.json + weight shards) copied
 * into a freshly built MobileNet by weight name and shape. Only the weights are read, never the
 * base's topology, so the base may have another input size, another head, or an older Keras layout
 * (keras-team's MobileNet V1 before 2.2 had no conv_pad_N layers and a 1x1-conv head `conv_preds`:
 * neither matters, padding has no weights and the ImageNet head is never reused).
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { EdgeloopError, parseArtifact, TfjsCheckpointSchema } from '@edgeloop/shared';
import type * as tfjs from '@tensorflow/tfjs';

type Tf = typeof tfjs;

/** Our classifier head: trained from scratch unless the base has weights of the same name and shape. */
export const HEAD_LAYERS = new Set(['predictions', 'hidden']);

export interface BaseWeights {
  source: string;
  /** sha256 over the manifest and weight bytes: the bottleneck cache's notion of "same base". */
  sha256: string;
  tensors: Map<string, tfjs.Tensor>;
  /** What the base itself says it is, for defaults that follow it (null: cannot tell). */
  shape: BaseShape;
}

export interface BaseShape {
  /** The square input side in its topology (Keras `batch_input_shape`). */
  inputSize: number | null;
  architecture: 'mobilenet_v1' | 'mobilenet_v2' | null;
  alpha: number | null;
}

const ALPHAS = [0.25, 0.35, 0.5, 0.75, 1.0];
const nearestAlpha = (a: number) =>
  ALPHAS.reduce((best, v) => (Math.abs(v - a) < Math.abs(best - a) ? v : best));

/** The base's input size from its topology, family and width from its weight names and shapes. */
export function baseShape(topology: unknown, tensors: Map<string, { shape: number[] }>): BaseShape {
  let inputSize: number | null = null;
  const t = topology as { model_config?: { config?: unknown }; config?: unknown } | undefined;
  const config = (t?.model_config?.config ?? t?.config) as
    | { layers?: { config?: { batch_input_shape?: unknown[] } }[] }
    | undefined;
  const shape = config?.layers?.[0]?.config?.batch_input_shape;
  if (Array.isArray(shape) && typeof shape[1] === 'number' && shape[1] === shape[2]) inputSize = shape[1];
  // Keras names: V1's first conv is conv1 (32·α filters); V2's last projection block_16_project (320·α).
  const v1 = tensors.get('conv1/kernel');
  const v2 = tensors.get('block_16_project/kernel');
  if (v1 && tensors.has('conv_dw_1/depthwise_kernel'))
    return { inputSize, architecture: 'mobilenet_v1', alpha: nearestAlpha(v1.shape[3] / 32) };
  if (v2) return { inputSize, architecture: 'mobilenet_v2', alpha: nearestAlpha(v2.shape[3] / 320) };
  return { inputSize, architecture: null, alpha: null };
}

export interface LoadBaseReport {
  source: string;
  sha256: string;
  loaded: number;
  /** Our head weights that stayed freshly initialised (the base had no fitting head). */
  headInitialised: string[];
  /** Base weights nothing in our model used (e.g. the ImageNet head). */
  unused: string[];
}

const isUrl = (s: string) => /^https?:\/\//i.test(s);

async function fetchBytes(url: string): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    throw new EdgeloopError(
      'UPSTREAM_FAILED',
      `base model URL unreachable: ${url} (${(err as Error).cause ?? (err as Error).message})`,
      { cause: err },
    );
  }
  if (!res.ok)
    throw new EdgeloopError('UPSTREAM_FAILED', `base model URL ${url} answered HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function readLocal(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (err) {
    throw new EdgeloopError(
      'MODEL_INVALID',
      `cannot read base model file ${path}: ${(err as Error).message}`,
    );
  }
}

/** Reads model.json and its shards from a folder, a model.json path, or an http(s) URL to model.json. */
export async function readBaseWeights(tf: Tf, source: string): Promise<BaseWeights> {
  let jsonLocation = source;
  if (!isUrl(source) && (await stat(source).catch(() => null))?.isDirectory()) {
    // A plain tfjs model folder, or a model folder edgeloop wrote (weights in checkpoint/).
    const nested = join(source, 'checkpoint', 'model.json');
    const plain = join(source, 'model.json');
    jsonLocation = (await stat(plain).catch(() => null))
      ? plain
      : (await stat(nested).catch(() => null))
        ? nested
        : plain;
  }
  const read = isUrl(source) ? fetchBytes : readLocal;
  const jsonBytes = await read(jsonLocation);
  let data: unknown;
  try {
    data = JSON.parse(new TextDecoder().decode(jsonBytes));
  } catch (err) {
    throw new EdgeloopError('MODEL_INVALID', `base ${jsonLocation} is not JSON: ${(err as Error).message}`);
  }
  // Only the weights are taken from a base, so only they must validate (not its topology).
  const json = parseArtifact(
    TfjsCheckpointSchema.pick({ weightsManifest: true }),
    data,
    `base ${jsonLocation} (not a tfjs model?)`,
  );
  const topology = (data as { modelTopology?: unknown }).modelTopology;
  const hash = createHash('sha256').update(jsonBytes);
  const tensors = new Map<string, tfjs.Tensor>();
  for (const group of json.weightsManifest) {
    const parts: Uint8Array[] = [];
    for (const p of group.paths) {
      const loc = isUrl(jsonLocation) ? new URL(p, jsonLocation).href : join(dirname(jsonLocation), p);
      parts.push(await read(loc));
    }
    const bytes = new Uint8Array(parts.reduce((n, b) => n + b.byteLength, 0));
    let offset = 0;
    for (const b of parts) {
      bytes.set(b, offset);
      offset += b.byteLength;
    }
    hash.update(bytes);
    let decoded: tfjs.NamedTensorMap;
    try {
      decoded = tf.io.decodeWeights(bytes.buffer, group.weights as tfjs.io.WeightsManifestEntry[]);
    } catch (err) {
      throw new EdgeloopError(
        'MODEL_INVALID',
        `base ${jsonLocation}: bad weight data: ${(err as Error).message}`,
      );
    }
    for (const [name, t] of Object.entries(decoded)) tensors.set(name, t);
  }
  return { source, sha256: hash.digest('hex'), tensors, shape: baseShape(topology, tensors) };
}

/**
 * Copies base weights into `model` by name. Every backbone weight must be present with the same
 * shape; otherwise an EdgeloopError('MODEL_INVALID') lists every missing or mismatched weight.
 */
export function applyBaseWeights(tf: Tf, model: tfjs.LayersModel, base: BaseWeights): LoadBaseReport {
  const used = new Set<string>();
  const problems: string[] = [];
  const headInitialised: string[] = [];
  const assignments: [tfjs.LayerVariable, tfjs.Tensor][] = [];
  for (const layer of model.layers) {
    for (const w of layer.weights) {
      const name = w.originalName;
      const found = base.tensors.get(name);
      const fits = found && found.shape.join('x') === w.shape.join('x');
      if (HEAD_LAYERS.has(layer.name)) {
        if (fits) assignments.push([w, found]);
        else headInitialised.push(name);
      } else if (!found) {
        problems.push(`${name} [${w.shape}]: not in base`);
      } else if (!fits) {
        problems.push(`${name}: model [${w.shape}] vs base [${found.shape}]`);
      } else {
        assignments.push([w, found]);
      }
      if (found) used.add(name);
    }
  }
  if (problems.length) {
    throw new EdgeloopError(
      'MODEL_INVALID',
      `base ${base.source} does not fit this architecture (${problems.length} weights):\n  ${problems.join('\n  ')}`,
      { details: { problems } },
    );
  }
  for (const [w, t] of assignments) {
    tf.tidy(() => {
      w.write(tf.cast(t, w.dtype));
    });
  }
  return {
    source: base.source,
    sha256: base.sha256,
    loaded: assignments.length,
    headInitialised,
    unused: [...base.tensors.keys()].filter((n) => !used.has(n)),
  };
}

export function disposeBase(base: BaseWeights): void {
  for (const t of base.tensors.values()) t.dispose();
}
