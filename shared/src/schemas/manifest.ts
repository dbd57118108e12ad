import { z } from 'zod';
import { PROTOCOL_VERSION } from '../protocol.ts';
import { ClassNameSchema } from './class-name.ts';

export const Sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex sha256');
/** File names inside a model version: plain names, never paths. */
export const ArtifactNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'expected a plain file name (no slashes)');

export const ManifestFileSchema = z.object({
  name: ArtifactNameSchema,
  role: z.enum(['model', 'reference-model', 'labels', 'metrics', 'other']),
  sha256: Sha256HexSchema,
  bytes: z.number().int().nonnegative(),
});
export type ManifestFile = z.infer<typeof ManifestFileSchema>;

export const ModelVariantSchema = z.enum(['int8', 'fp32']);
export type ModelVariant = z.infer<typeof ModelVariantSchema>;

interface ManifestFiles {
  architecture: { quantization: ModelVariant };
  files: readonly ManifestFile[];
}

/**
 * The runnable variants a manifest lists, the `model` file first: that file is the manifest's
 * `architecture.quantization`, and a `reference-model` beside an int8 model is its fp32 original.
 * A float-only manifest (an older one, or an imported model) has one variant.
 */
export function modelVariants(manifest: ManifestFiles): { variant: ModelVariant; file: ManifestFile }[] {
  const main = manifest.files.find((f) => f.role === 'model');
  if (!main) return [];
  const out = [{ variant: manifest.architecture.quantization, file: main }];
  const reference = manifest.files.find((f) => f.role === 'reference-model');
  if (manifest.architecture.quantization === 'int8' && reference)
    out.push({ variant: 'fp32', file: reference });
  return out;
}

/**
 * The files a device needs to run a version: its labels and every model variant — on a quantized
 * model the int8 `model` and its fp32 original (`reference-model`, `model.fp32.onnx`). Both ship
 * because which one is faster depends on the device (on x86 AVX2 onnxruntime's int8 kernels lose in
 * narrow layers, on ARM with dot-product instructions int8 usually wins): the agent times both at
 * install and runs the faster one that passed its smoke test. Metrics stay on the control plane.
 * The roles are those of earlier manifests, so one signed before devices took both verifies as is.
 */
export function deviceFiles(manifest: ManifestFiles): ManifestFile[] {
  const variants = new Set(modelVariants(manifest).map((v) => v.file.name));
  return manifest.files.filter((f) => f.role === 'labels' || variants.has(f.name));
}

/**
 * How a device turns camera pixels into the model's input. Our own models take raw RGB bytes
 * (uint8, NHWC) and scale inside the graph; imported models may want float NCHW with mean/std.
 */
export const InputSpecSchema = z.object({
  name: z.string().min(1),
  dtype: z.enum(['uint8', 'float32']),
  layout: z.enum(['NHWC', 'NCHW']),
  width: z.number().int().min(8).max(4096),
  height: z.number().int().min(8).max(4096),
  channels: z.literal(3),
  colorOrder: z.enum(['RGB', 'BGR']).default('RGB'),
  /** For float32 inputs: value = (pixel / 255 - mean[c]) / std[c], or pixel * scale + offset. */
  normalization: z
    .union([
      z.object({ kind: z.literal('none') }),
      z.object({ kind: z.literal('scale'), scale: z.number(), offset: z.number() }),
      z.object({
        kind: z.literal('mean-std'),
        mean: z.tuple([z.number(), z.number(), z.number()]),
        std: z.tuple([z.number(), z.number(), z.number()]),
      }),
    ])
    .default({ kind: 'none' }),
});
export type InputSpec = z.infer<typeof InputSpecSchema>;

export const OutputSpecSchema = z.object({
  name: z.string().min(1),
  kind: z.enum(['probabilities', 'logits']),
});
export type OutputSpec = z.infer<typeof OutputSpecSchema>;

export const ArchitectureSchema = z.object({
  family: z.string().min(1),
  alpha: z.number().positive().optional(),
  inputSize: z.number().int().positive().optional(),
  quantization: z.enum(['fp32', 'int8']).default('fp32'),
});

export const SignatureSchema = z.object({
  alg: z.literal('ed25519'),
  keyId: z.string().min(1),
  value: z.string().min(1),
});
export type Signature = z.infer<typeof SignatureSchema>;

/**
 * What the trainer measured about the model's confidence on held-out frames: the temperature it
 * folded into the graph (so the outputs are already calibrated) and the capture thresholds it
 * recommends. A device uses the thresholds unless its own configuration sets one; they are part of
 * the signed manifest, so nobody between trainer and device can change them unnoticed.
 */
export const ConfidenceSpecSchema = z.object({
  /** Logits were divided by this before the softmax (already in the graph; 1 = uncalibrated). */
  temperature: z.number().positive(),
  /** Expected calibration error (15 bins) on the held-out frames, after calibration. */
  ece: z.number().min(0).max(1).optional(),
  /** Share of held-out frames that fall below the thresholds. */
  targetCaptureRate: z.number().min(0).max(1),
  lowConfidenceThreshold: z.number().min(0).max(1),
  classThresholds: z.record(z.string(), z.number().min(0).max(1)).default({}),
});
export type ConfidenceSpec = z.infer<typeof ConfidenceSpecSchema>;

const ModelVersionSchema = z.number().int().positive();

/**
 * What a trainer writes and uploads. Without `modelVersion` the control plane numbers the version
 * itself (the next free one, chosen inside its publish queue); with one, it is an explicit request
 * that is refused unless newer than the latest. Either way the number is the server's to sign.
 */
export const UnsignedManifestSchema = z.object({
  protocol: z.literal(PROTOCOL_VERSION),
  name: z.string().min(1).max(128),
  modelVersion: ModelVersionSchema.optional(),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
  /** True only on a manifest that deliberately re-publishes an older model as a rollback. */
  rollback: z.boolean().default(false),
  /**
   * On a rollback manifest: the order it was signed for (`rollout:ID`, or a fleet change). A device
   * installs it only when its signed desired state names the same order, so an old rollback
   * manifest replayed later moves nobody back.
   */
  rollbackOrder: z.string().min(1).max(100).optional(),
  architecture: ArchitectureSchema,
  labels: z.array(ClassNameSchema).min(2),
  input: InputSpecSchema,
  output: OutputSpecSchema,
  files: z.array(ManifestFileSchema).min(1),
  /** Calibration and recommended capture thresholds (models trained by edgeloop). */
  confidence: ConfidenceSpecSchema.optional(),
});
export type UnsignedManifest = z.infer<typeof UnsignedManifestSchema>;

/** A manifest as the control plane signs and serves it: always numbered. */
export const ManifestSchema = UnsignedManifestSchema.extend({
  modelVersion: ModelVersionSchema,
  signature: SignatureSchema.optional(),
});
export type Manifest = z.infer<typeof ManifestSchema>;
