/**
 * The training recipe a run uses when the user does not say: picked from the pretrained base (its
 * input size, family and width) and the dataset's size and class count. The rule and why it is so
 * are in docs/training.md ("Defaults"); measured on real photos in docs/benchmarks.md (clothing).
 * Pure: the same base and dataset always give the same recipe.
 */
import type { MobileNetAlpha, ModelSpec } from '../model/mobilenet-spec.ts';
import { type FreezeSpec, formatFreeze } from '../model/split-model.ts';

export interface Recipe {
  architecture: ModelSpec['architecture'];
  alpha: MobileNetAlpha;
  inputSize: number;
  freeze: FreezeSpec;
  augmentVariants: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  warmupEpochs: number;
  dropout: number;
  patience: number;
  labelSmoothing: number;
}

export const RECIPE_KEYS: readonly (keyof Recipe)[] = [
  'architecture',
  'alpha',
  'inputSize',
  'freeze',
  'augmentVariants',
  'epochs',
  'batchSize',
  'learningRate',
  'warmupEpochs',
  'dropout',
  'patience',
  'labelSmoothing',
];

export interface RecipeContext {
  /** What the pretrained base says about itself; null when training from scratch. */
  base: {
    inputSize: number | null;
    architecture: ModelSpec['architecture'] | null;
    alpha: number | null;
  } | null;
  trainImages: number;
  classes: number;
}

/** Frozen forward passes the bottleneck cache may spend on augmented variants (see variants below). */
export const VARIANT_FORWARD_BUDGET = 10_000;
/** Training images per class from which two blocks of the base retrain by default (see freeze below). */
export const LAST_TWO_PER_CLASS = 200;
/** Optimizer steps a fine-tune aims for, whatever the dataset size (see epochs below). */
export const TARGET_STEPS = 800;

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** The defaults for this base and dataset, with a one-line reason. */
export function defaultRecipe(ctx: RecipeContext): { recipe: Recipe; rule: string; reason: string } {
  if (!ctx.base) {
    // From scratch on a CPU: small inputs keep whole-network training affordable.
    return {
      rule: 'from-scratch',
      reason: 'no pretrained base: the whole network trains, at 64 px so it stays affordable on a CPU',
      recipe: {
        architecture: 'mobilenet_v1',
        alpha: 0.25,
        inputSize: 64,
        freeze: 'none',
        augmentVariants: 1,
        epochs: 10,
        batchSize: 16,
        learningRate: 0.002,
        warmupEpochs: 0,
        dropout: 0.2,
        patience: 3,
        labelSmoothing: 0,
      },
    };
  }
  const perClass = ctx.trainImages / Math.max(1, ctx.classes);
  const batchSize = ctx.trainImages >= 512 ? 32 : 16;
  const stepsPerEpoch = Math.max(1, Math.ceil(ctx.trainImages / batchSize));
  // The more photos a class, the more of the base can adapt without memorising them: fewer than
  // ~20 a class cannot retrain a block (only the head learns); a few hundred retrain two (on
  // clothing-small, ~300 a class, `last:2` beat `last:1` by 1.1 and 1.7 points fp32 in two runs,
  // and was better calibrated in int8: docs/benchmarks.md).
  const freeze: FreezeSpec =
    perClass < 20 ? 'head' : perClass < LAST_TWO_PER_CLASS ? { lastBlocks: 1 } : { lastBlocks: 2 };
  const inputSize = ctx.base.inputSize && ctx.base.inputSize % 32 === 0 ? ctx.base.inputSize : 224;
  const alpha = (ctx.base.alpha ?? 0.25) as MobileNetAlpha;
  return {
    rule: 'pretrained-base',
    reason:
      `base input ${inputSize} px; ${Math.round(perClass)} images per class → freeze ${formatFreeze(freeze)}; ` +
      `variants and epochs sized to ~${VARIANT_FORWARD_BUDGET} frozen passes and ~${TARGET_STEPS} steps`,
    recipe: {
      architecture: ctx.base.architecture ?? 'mobilenet_v1',
      alpha,
      inputSize,
      freeze,
      // Small datasets get more augmented views of each photo; the cost is bounded in passes.
      augmentVariants: clamp(Math.floor(VARIANT_FORWARD_BUDGET / Math.max(1, ctx.trainImages)), 3, 8),
      // About the same number of optimizer steps for any dataset size, within sensible epochs.
      epochs: clamp(Math.round(TARGET_STEPS / stepsPerEpoch), 8, 40),
      batchSize,
      learningRate: 0.002,
      warmupEpochs: 1,
      dropout: 0.1,
      patience: 3,
      // Label smoothing measured worse here (85.6% vs 88.3% on clothing-small, and an
      // under-confident model a single temperature cannot fully fix): off by default.
      labelSmoothing: 0,
    },
  };
}

/** `given` over the defaults; `defaulted` names what the user did not set. */
export function resolveRecipe(
  given: Partial<Recipe>,
  ctx: RecipeContext,
): { recipe: Recipe; rule: string; reason: string; defaulted: (keyof Recipe)[] } {
  const d = defaultRecipe(ctx);
  const recipe = { ...d.recipe };
  const defaulted: (keyof Recipe)[] = [];
  for (const key of RECIPE_KEYS) {
    if (given[key] === undefined) defaulted.push(key);
    else (recipe as Record<string, unknown>)[key] = given[key];
  }
  return { recipe, rule: d.rule, reason: d.reason, defaulted };
}

/** The recipe as printable/JSON values (freeze as its flag text). */
export function recipeValues(r: Recipe): Record<string, number | string> {
  return { ...r, freeze: formatFreeze(r.freeze) };
}

/** One line per setting for the start of a run: `  epochs 8 (default)`. */
export function formatRecipe(r: Recipe, defaulted: readonly string[]): string {
  const values = recipeValues(r);
  return RECIPE_KEYS.map(
    (k) => `  ${k.padEnd(16)} ${String(values[k]).padEnd(14)} ${defaulted.includes(k) ? 'default' : 'given'}`,
  ).join('\n');
}
