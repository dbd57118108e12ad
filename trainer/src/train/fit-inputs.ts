/**
 * What the fit loop trains on, decided by the freeze cut: with nothing frozen, images augmented on
 * the fly; with a frozen part, its cached outputs (bottleneck cache, `variants` augmented variants
 * per training image) when they fit the memory budget, else its outputs recomputed per batch.
 */
import type { Logger } from '@edgeloop/shared';
import type * as tfjs from '@tensorflow/tfjs';
import { createOnnxRunner } from '../inference/onnx-runner.ts';
import { splitModel } from '../model/split-model.ts';
import { exportToOnnx } from '../onnx/export-onnx.ts';
import type { TrainMetrics } from '../output/model-dir.ts';
import type { AugmentConfig } from './augment.ts';
import { type Normalization, onnxScaling } from './batches.ts';
import { bottleneckFeatures, type FrozenForward, tfjsForward } from './bottleneck-cache.ts';
import type { DecodedSplit } from './decode-splits.ts';
import type { FitData } from './fit.ts';
import { cachedData, frozenData, imageData } from './fit-data.ts';
import type { TrainProgress } from './train-options.ts';

type Tf = typeof tfjs;

export interface FitInputsRequest {
  model: tfjs.LayersModel;
  /** Last frozen layer, or null when everything trains. */
  cut: string | null;
  sets: { train: DecodedSplit; validation: DecodedSplit; test: DecodedSplit };
  norm: Normalization;
  size: number;
  augment: AugmentConfig | null;
  seed: number;
  variants: number;
  cacheBudgetBytes: number;
  cacheDir: string | null;
  cacheKey: Record<string, unknown>;
  log: Logger;
  progress: (p: TrainProgress) => void;
}

export interface FitInputs {
  /** The model to train: the whole model, or the tail after the cut. */
  trainable: tfjs.LayersModel;
  trainData: FitData;
  /** The training split without augmentation (for train accuracy). */
  trainEval: FitData;
  valData: FitData;
  testData: FitData;
  cacheReport: TrainMetrics['bottleneckCache'];
  variants: number | null;
}

/**
 * The frozen part for the bottleneck cache, run by onnxruntime when it exports (several times
 * faster than tfjs on the CPU: it is the same export devices run, so its features are what the
 * deployed model computes), else by tfjs.
 */
async function frozenForward(
  tf: Tf,
  frozen: tfjs.LayersModel,
  size: number,
  norm: Normalization,
  log: Logger,
): Promise<{ forward: FrozenForward; release: () => Promise<void>; runtime: string }> {
  try {
    const onnx = exportToOnnx(frozen, { inputScaling: onnxScaling(norm), metadata: {} });
    const runner = await createOnnxRunner(onnx, 2);
    return {
      forward: (images) => runner.run(images, size),
      release: () => runner.release(),
      runtime: 'onnxruntime',
    };
  } catch (err) {
    log.warn(
      { err: (err as Error).message },
      'frozen part does not export to ONNX; computing features with tfjs',
    );
    return { forward: tfjsForward(tf, frozen, size, norm), release: async () => {}, runtime: 'tfjs' };
  }
}

export async function prepareFitInputs(tf: Tf, r: FitInputsRequest): Promise<FitInputs> {
  const { sets, norm, seed, augment } = r;
  if (r.cut === null) {
    return {
      trainable: r.model,
      trainData: imageData(sets.train, norm, seed, augment),
      trainEval: imageData(sets.train, norm, seed, null),
      valData: imageData(sets.validation, norm, seed, null),
      testData: imageData(sets.test, norm, seed, null),
      cacheReport: null,
      variants: null,
    };
  }
  const cut = r.cut;
  const split = splitModel(tf, r.model, cut);
  const featureBytes = split.cutShape.reduce((a, b) => a * b, 4);
  const cacheBytes =
    featureBytes *
    (sets.train.images.length * r.variants + sets.validation.images.length + sets.test.images.length);
  if (cacheBytes > r.cacheBudgetBytes) {
    return {
      trainable: split.tail,
      trainData: frozenData(tf, split.frozen, sets.train, norm, seed, augment),
      trainEval: frozenData(tf, split.frozen, sets.train, norm, seed, null),
      valData: frozenData(tf, split.frozen, sets.validation, norm, seed, null),
      testData: frozenData(tf, split.frozen, sets.test, norm, seed, null),
      cacheReport: { cutLayer: cut, cached: false, runtime: 'tfjs', hits: 0, misses: 0, seconds: 0 },
      variants: null,
    };
  }
  const stats = { hits: 0, misses: 0, seconds: 0 };
  const frozenRun = await frozenForward(tf, split.frozen, r.size, norm, r.log);
  const features = async (set: DecodedSplit, n: number, what: string) => {
    const out = await bottleneckFeatures(
      frozenRun.forward,
      split.cutShape,
      set.images.map((pixels, i) => ({ pixels, sha256: set.hashes[i] })),
      r.size,
      n,
      { dir: r.cacheDir, key: r.cacheKey, augment, seed },
      (done, all) => {
        // About ten lines per split, whatever its size.
        if (done === all || Math.floor((done * 10) / all) !== Math.floor(((done - 32) * 10) / all))
          r.progress({ phase: 'cache', message: `  ${what} features ${done}/${all}` });
      },
    );
    stats.hits += out.stats.hits;
    stats.misses += out.stats.misses;
    stats.seconds += out.stats.computeSeconds;
    return cachedData(set, out.features, out.featureLength, split.cutShape, n, seed);
  };
  r.progress({
    phase: 'cache',
    message: `computing frozen features at ${cut} (${r.variants} variants per training image)`,
  });
  try {
    const trainData = await features(sets.train, r.variants, 'train');
    const valData = await features(sets.validation, 1, 'validation');
    const testData = await features(sets.test, 1, 'test');
    r.progress({
      phase: 'cache',
      message: `bottleneck cache: ${stats.hits} hits, ${stats.misses} misses, ${stats.seconds.toFixed(0)}s`,
    });
    return {
      trainable: split.tail,
      trainData,
      // Epoch 0 always reads variant 0, the plain image: the same data serves both.
      trainEval: trainData,
      valData,
      testData,
      cacheReport: { cutLayer: cut, cached: true, runtime: frozenRun.runtime, ...stats },
      variants: r.variants,
    };
  } finally {
    await frozenRun.release();
  }
}
