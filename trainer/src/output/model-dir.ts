/**
 * A trained model's output folder — what `edgeloop train` writes and `edgeloop publish` uploads:
 *   model.onnx     the network devices run (uint8 NHWC RGB in, probabilities out)
 *   labels.json    class names in output order
 *   metrics.json   what training measured (TrainMetrics)
 *   manifest.json  an unsigned manifest without a version: the control plane numbers and signs it
 *                  when it is published
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  EdgeloopError,
  PROTOCOL_VERSION,
  parseWith,
  sha256Hex,
  type UnsignedManifest,
  UnsignedManifestSchema,
  writeFileAtomic,
} from '@edgeloop/shared';

export interface EpochMetrics {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss: number;
  valAccuracy: number;
  learningRate?: number;
  imagesPerSec?: number;
  seconds?: number;
}

export interface ClassReport {
  label: string;
  support: number;
  precision: number;
  recall: number;
  f1?: number;
}

export interface TrainMetrics {
  name: string;
  /** The model folder this one continued from, if any. */
  parent: string | null;
  labels: string[];
  architecture: { family: string; alpha: number; inputSize: number; hiddenUnits?: number | null };
  backend: string;
  trainImages: number;
  valImages: number;
  testImages?: number;
  fieldSamplesUsed: number;
  /** Control-plane ids of the field samples this training used. */
  sampleIds: string[];
  epochsRun: number;
  bestEpoch: number;
  history: EpochMetrics[];
  /** Accuracy of the best checkpoint (tfjs) on the unaugmented training split. */
  trainAccuracy?: number;
  valAccuracy: number;
  /** Held-out test split accuracy of the exported ONNX model; null without a test split. */
  testAccuracy?: number | null;
  onnxValAccuracy: number;
  onnxAgreement: number;
  onnxMaxAbsDiff: number;
  /** Validation per-class metrics and confusion[true][predicted] of the exported model. */
  perClass: ClassReport[];
  confusion: number[][];
  macroF1?: number;
  test?: { accuracy: number; perClass: ClassReport[]; confusion: number[][]; macroF1: number } | null;
  classCounts?: {
    train: Record<string, number>;
    validation: Record<string, number>;
    test: Record<string, number>;
  };
  /** How class imbalance was handled: 'weights' (loss weights below), 'sampling' or 'none'. */
  balance?: string;
  classWeights: Record<string, number>;
  /** Pixel normalisation (pixel - mean) / std per RGB channel, folded into model.onnx. */
  normalization?: { mean: number[]; std: number[] };
  base?: {
    source: string;
    sha256: string;
    loaded: number;
    headInitialised: string[];
    unused: string[];
  } | null;
  freeze?: string;
  augmentation?: { enabled: boolean; variants: number | null };
  bottleneckCache?: {
    cutLayer: string;
    cached: boolean;
    runtime: string;
    hits: number;
    misses: number;
    seconds: number;
  } | null;
  skipped: { path: string; reason: string }[];
  duplicates: number;
  duplicateFiles?: { path: string; sameAs: string }[];
  trainSeconds: number;
  imagesPerSec: number;
  totalSeconds: number;
}

export function buildManifest(
  onnx: Uint8Array,
  metrics: TrainMetrics,
  size: number,
  ttlDays = 365,
): UnsignedManifest {
  const now = new Date();
  return parseWith(
    UnsignedManifestSchema,
    {
      protocol: PROTOCOL_VERSION,
      name: metrics.name,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + ttlDays * 86_400_000).toISOString(),
      rollback: false,
      architecture: { ...metrics.architecture, quantization: 'fp32' },
      labels: metrics.labels,
      input: {
        name: 'input',
        dtype: 'uint8',
        layout: 'NHWC',
        width: size,
        height: size,
        channels: 3,
        colorOrder: 'RGB',
        normalization: { kind: 'none' },
      },
      output: { name: 'probabilities', kind: 'probabilities' },
      files: [{ name: 'model.onnx', role: 'model', sha256: sha256Hex(onnx), bytes: onnx.byteLength }],
    },
    'manifest',
  );
}

export async function writeModelDir(
  dir: string,
  content: { onnx: Uint8Array; metrics: TrainMetrics; size: number },
): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, 'model.onnx'), content.onnx);
  await writeFileAtomic(join(dir, 'labels.json'), `${JSON.stringify(content.metrics.labels, null, 2)}\n`);
  await writeFileAtomic(join(dir, 'metrics.json'), `${JSON.stringify(content.metrics, null, 2)}\n`);
  const manifest = buildManifest(content.onnx, content.metrics, content.size);
  await writeFileAtomic(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

export interface ModelDir {
  dir: string;
  manifest: UnsignedManifest;
  metrics: TrainMetrics | null;
  files: Map<string, Uint8Array>;
}

/** Reads and checks a model folder: the manifest validates and every file matches its hash. */
export async function readModelDir(dir: string): Promise<ModelDir> {
  let manifestJson: unknown;
  try {
    manifestJson = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
  } catch (err) {
    throw new EdgeloopError(
      'MODEL_INVALID',
      `cannot read ${join(dir, 'manifest.json')}: ${(err as Error).message}`,
    );
  }
  const manifest = parseWith(UnsignedManifestSchema, manifestJson, `manifest in ${dir}`);
  const files = new Map<string, Uint8Array>();
  for (const f of manifest.files) {
    const bytes = new Uint8Array(await readFile(join(dir, f.name)));
    if (bytes.byteLength !== f.bytes || sha256Hex(bytes) !== f.sha256) {
      throw new EdgeloopError('CHECKSUM_MISMATCH', `${f.name} in ${dir} does not match its manifest entry`);
    }
    files.set(f.name, bytes);
  }
  const metrics = await readFile(join(dir, 'metrics.json'), 'utf8')
    .then((t) => JSON.parse(t) as TrainMetrics)
    .catch(() => null);
  return { dir, manifest, metrics, files };
}
