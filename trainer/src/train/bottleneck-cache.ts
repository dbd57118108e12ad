/**
 * Bottleneck cache: outputs of the frozen part of the network, computed once and reused by every
 * epoch (and by later runs, on disk). Augmentation and caching conflict — a cached feature cannot be
 * re-augmented — so each training image gets a fixed number of augmented variants (variant 0 is the
 * plain image; variant v is augmented with an rng seeded by the image's hash, v and the seed), and
 * each epoch picks one variant per image. Validation and test images have only variant 0.
 *
 * A disk entry's name hashes everything its content depends on: the image bytes (sha256), the base
 * weights (sha256), the architecture, cut layer, input size, normalisation, the augmentation
 * settings, variant count and seed. Change any of them and the entry is simply not found (a miss),
 * so stale features are never read.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRng, writeFileAtomic } from '@edgeloop/shared';
import type * as tfjs from '@tensorflow/tfjs';
import { type AugmentConfig, augmentImage } from './augment.ts';
import { fillBatch, type Normalization } from './batches.ts';

type Tf = typeof tfjs;

export interface CacheContext {
  /** null: keep features in memory only. */
  dir: string | null;
  /** Everything besides the image that decides the features (base hash, cut, size, ...). */
  key: Record<string, unknown>;
  augment: AugmentConfig | null;
  seed: number;
}

export interface CacheStats {
  hits: number;
  misses: number;
  computeSeconds: number;
}

/** Seed for an image's augmented variant: stable across runs and independent of data order. */
export function variantSeed(sha256: string, variant: number, seed: number): number {
  return createHash('sha256').update(`${sha256}:${variant}:${seed}`).digest().readUInt32LE(0);
}

/** The pixels of one image variant (variant 0 = as decoded). */
export function imageVariant(
  pixels: Uint8Array,
  size: number,
  sha256: string,
  variant: number,
  seed: number,
  augment: AugmentConfig | null,
): Uint8Array {
  if (variant === 0 || !augment) return pixels;
  return augmentImage(pixels, size, createRng(variantSeed(sha256, variant, seed)), augment);
}

function entryName(sha256: string, variants: number, ctx: CacheContext): string {
  const key = JSON.stringify({ ...ctx.key, augment: ctx.augment, seed: ctx.seed, variants });
  return `${createHash('sha256').update(key).update(sha256).digest('hex')}.f32`;
}

/** Raw RGB images (size*size*3 bytes each) -> their frozen features, concatenated. */
export type FrozenForward = (images: Uint8Array[]) => Promise<Float32Array>;

/** The frozen part run by tfjs (inference mode), normalising the pixels first. */
export function tfjsForward(
  tf: Tf,
  frozen: tfjs.LayersModel,
  size: number,
  norm: Normalization,
): FrozenForward {
  return async (images) => {
    const buf = new Float32Array(images.length * size * size * 3);
    fillBatch(images, buf, norm);
    return tf.tidy(() => {
      const x = tf.tensor4d(buf, [images.length, size, size, 3]);
      return (frozen.predict(x) as tfjs.Tensor).dataSync() as Float32Array;
    });
  };
}

/**
 * Features of every image x variant: result[i] holds `variants` consecutive feature vectors.
 * Computes misses in batches through `forward` and stores them when ctx.dir is set.
 */
export async function bottleneckFeatures(
  forward: FrozenForward,
  featureShape: number[],
  images: { pixels: Uint8Array; sha256: string }[],
  size: number,
  variants: number,
  ctx: CacheContext,
  onProgress: (done: number, total: number) => void = () => {},
): Promise<{ features: Float32Array[]; featureLength: number; stats: CacheStats }> {
  const featureLength = featureShape.reduce((a, b) => a * b, 1);
  const entryBytes = variants * featureLength * 4;
  const stats: CacheStats = { hits: 0, misses: 0, computeSeconds: 0 };
  const features: Float32Array[] = new Array(images.length);
  const missing: number[] = [];
  if (ctx.dir) await mkdir(ctx.dir, { recursive: true });
  for (const [i, img] of images.entries()) {
    if (ctx.dir) {
      const bytes = await readFile(join(ctx.dir, entryName(img.sha256, variants, ctx))).catch(() => null);
      if (bytes && bytes.byteLength === entryBytes) {
        features[i] = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + entryBytes));
        stats.hits++;
        continue;
      }
    }
    missing.push(i);
  }
  stats.misses = missing.length;
  const started = Date.now();
  const batch = 32;
  // Work items are (image, variant) pairs so a batch can span images.
  const work = missing.flatMap((i) => Array.from({ length: variants }, (_, v) => [i, v] as const));
  for (const i of missing) features[i] = new Float32Array(variants * featureLength);
  for (let start = 0; start < work.length; start += batch) {
    const chunk = work.slice(start, start + batch);
    const raw = chunk.map(([i, v]) =>
      imageVariant(images[i].pixels, size, images[i].sha256, v, ctx.seed, ctx.augment),
    );
    const out = await forward(raw);
    chunk.forEach(([i, v], k) => {
      features[i].set(out.subarray(k * featureLength, (k + 1) * featureLength), v * featureLength);
    });
    onProgress(Math.min(start + batch, work.length), work.length);
  }
  if (ctx.dir) {
    for (const i of missing) {
      const f = features[i];
      await writeFileAtomic(
        join(ctx.dir, entryName(images[i].sha256, variants, ctx)),
        new Uint8Array(f.buffer, f.byteOffset, f.byteLength),
      );
    }
  }
  stats.computeSeconds = (Date.now() - started) / 1000;
  return { features, featureLength, stats };
}
