/**
 * A trained model's output folder — what `edgeloop train` writes and `edgeloop publish` uploads:
 *   model.onnx     the network devices run (uint8 NHWC RGB in, probabilities out)
 *   labels.json    class names in output order
 *   metrics.json   what training measured (TrainMetricsSchema)
 *   manifest.json  an unsigned manifest without a version: the control plane numbers and signs it
 *                  when it is published
 * (the layout and each file's schema: shared/src/artifacts/model-folder.ts).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type ConfidenceSpec,
  EdgeloopError,
  MODEL_FOLDER,
  type ModelMetrics,
  PROTOCOL_VERSION,
  parseArtifact,
  parseWith,
  readModelFolder,
  sha256Hex,
  type TrainMetrics,
  TrainMetricsSchema,
  type UnsignedManifest,
  UnsignedManifestSchema,
  writeFileAtomic,
} from '@edgeloop/shared';

// The folder's files have schemas in @edgeloop/shared; the trainer's types come from them, so what
// it writes is what every reader validates against.
export type { ClassReport, EpochMetrics, TrainMetrics } from '@edgeloop/shared';

/** The manifest's `confidence` (what devices use) from metrics.json's `calibration`. */
export function confidenceSpec(c: TrainMetrics['calibration']): ConfidenceSpec | undefined {
  if (!c) return undefined;
  return {
    temperature: c.temperature,
    ece: c.eceAfter,
    targetCaptureRate: c.targetCaptureRate,
    lowConfidenceThreshold: c.lowConfidenceThreshold,
    classThresholds: c.classThresholds,
  };
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
      confidence: confidenceSpec(metrics.calibration),
    },
    'manifest',
  );
}

export async function writeModelDir(
  dir: string,
  content: { onnx: Uint8Array; metrics: TrainMetrics; size: number },
): Promise<void> {
  // A value JSON cannot hold (NaN, Infinity) would turn into null and fail every reader: say so here.
  parseArtifact(
    TrainMetricsSchema,
    JSON.parse(JSON.stringify(content.metrics)),
    join(dir, MODEL_FOLDER.metrics),
  );
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, MODEL_FOLDER.model), content.onnx);
  await writeFileAtomic(
    join(dir, MODEL_FOLDER.labels),
    `${JSON.stringify(content.metrics.labels, null, 2)}\n`,
  );
  await writeFileAtomic(join(dir, MODEL_FOLDER.metrics), `${JSON.stringify(content.metrics, null, 2)}\n`);
  const manifest = buildManifest(content.onnx, content.metrics, content.size);
  await writeFileAtomic(join(dir, MODEL_FOLDER.manifest), `${JSON.stringify(manifest, null, 2)}\n`);
}

export interface ModelDir {
  dir: string;
  manifest: UnsignedManifest;
  /** Null for a folder without metrics.json (an imported model). */
  metrics: ModelMetrics | null;
  files: Map<string, Uint8Array>;
}

/**
 * Reads and checks a model folder: manifest.json, labels.json and metrics.json validate (and agree
 * on the labels), and every file the manifest lists is there and matches its hash.
 */
export async function readModelDir(dir: string): Promise<ModelDir> {
  const folder = await readModelFolder(dir);
  const manifest = folder[MODEL_FOLDER.manifest];
  const files = new Map<string, Uint8Array>();
  for (const f of manifest.files) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(join(dir, f.name)));
    } catch (err) {
      throw new EdgeloopError(
        'MODEL_INVALID',
        `${dir}: ${f.name} (listed in ${MODEL_FOLDER.manifest}) cannot be read: ${(err as Error).message}`,
      );
    }
    if (bytes.byteLength !== f.bytes || sha256Hex(bytes) !== f.sha256) {
      throw new EdgeloopError('CHECKSUM_MISMATCH', `${f.name} in ${dir} does not match its manifest entry`);
    }
    files.set(f.name, bytes);
  }
  return { dir, manifest, metrics: folder[MODEL_FOLDER.metrics] ?? null, files };
}
