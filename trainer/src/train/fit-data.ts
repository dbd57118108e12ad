/**
 * What the fit loop feeds the model, in three flavours: normalised images (augmented on the fly for
 * training), features from the frozen part computed per batch, or cached features (one of a fixed
 * set of augmented variants per image, picked per epoch).
 */
import { createRng } from '@edgeloop/shared';
import type * as tfjs from '@tensorflow/tfjs';
import type { AugmentConfig } from './augment.ts';
import { type EncodedSet, fillBatch, type Normalization } from './batches.ts';
import { imageVariant, variantSeed } from './bottleneck-cache.ts';
import type { FitData } from './fit.ts';

type Tf = typeof tfjs;

/** Seeded per (image, epoch): identical across runs and across resume. */
function epochAugmented(
  set: EncodedSet,
  i: number,
  epoch: number,
  seed: number,
  augment: AugmentConfig | null,
) {
  if (!augment || epoch === 0) return set.images[i];
  // Variant numbers past any cache's range; epoch e uses variant 1000 + e.
  return imageVariant(set.images[i], set.size, set.hashes[i], 1000 + epoch, seed, augment);
}

export function imageData(
  set: EncodedSet,
  norm: Normalization,
  seed: number,
  augment: AugmentConfig | null,
): FitData {
  const pixels = set.size * set.size * 3;
  return {
    count: set.images.length,
    labels: set.labels,
    shape: [set.size, set.size, 3],
    inputs(indices, epoch) {
      const out = new Float32Array(indices.length * pixels);
      fillBatch(
        indices.map((i) => epochAugmented(set, i, epoch, seed, augment)),
        out,
        norm,
      );
      return out;
    },
  };
}

/** Features of the frozen part, computed for every batch (frozen part too large to cache). */
export function frozenData(
  tf: Tf,
  frozen: tfjs.LayersModel,
  set: EncodedSet,
  norm: Normalization,
  seed: number,
  augment: AugmentConfig | null,
): FitData {
  const images = imageData(set, norm, seed, augment);
  const shape = (frozen.outputs[0] as tfjs.SymbolicTensor).shape.slice(1) as number[];
  return {
    count: set.images.length,
    labels: set.labels,
    shape,
    inputs(indices, epoch) {
      const x = images.inputs(indices, epoch);
      return tf.tidy(
        () =>
          (
            frozen.predict(tf.tensor(x, [indices.length, ...images.shape])) as tfjs.Tensor
          ).dataSync() as Float32Array,
      );
    },
  };
}

/** Cached features: `features[i]` holds `variants` vectors; training picks one per (image, epoch). */
export function cachedData(
  set: EncodedSet,
  features: Float32Array[],
  featureLength: number,
  shape: number[],
  variants: number,
  seed: number,
): FitData {
  return {
    count: set.images.length,
    labels: set.labels,
    shape,
    inputs(indices, epoch) {
      const out = new Float32Array(indices.length * featureLength);
      indices.forEach((i, k) => {
        const v =
          epoch === 0 || variants === 1
            ? 0
            : Math.floor(createRng(variantSeed(set.hashes[i], epoch, seed))() * variants);
        out.set(features[i].subarray(v * featureLength, (v + 1) * featureLength), k * featureLength);
      });
      return out;
    },
  };
}
