/**
 * Which variant of a model serves, when the manifest ships int8 and fp32 (manifest.ts
 * `modelVariants`). The same rule for the device's model and a camera's own:
 *
 *   every variant whose file verified → load + warm-up + smoke test (a failure rules it out) →
 *   time `runs` warm inferences of each, interleaved so a load change on the device hits both →
 *   serve the lower median; release the others → record the choice in the slot
 *
 * The record (SlotVariantRecord) lets a restart load the chosen file directly, with its smoke test
 * but without timing both again; it is not used when it names another file, another execution
 * provider, or was a configured choice rather than a measured one. `inference.variant` int8/fp32
 * serves that variant untimed, or the other one when it is missing or fails its smoke test. A
 * manifest with one variant (older, or an imported fp32 model) loads as before, untimed.
 */
import {
  EdgeloopError,
  type Logger,
  type Manifest,
  type ModelSlot,
  type ModelVariant,
  modelVariants,
  PROTOCOL_VERSION,
  toEdgeloopError,
  type VariantChoice,
  type VariantTiming,
} from '@edgeloop/shared';
import type { InferenceBackend } from '../inference/inference-backend.ts';
import { blankInput } from '../inference/preprocess.ts';
import { type LoadedModel, loadCheckedModel } from './active-model.ts';
import type { RejectedVariant } from './model-downloader.ts';
import type { ModelStore } from './model-store.ts';
import type { SmokeTestInput } from './smoke-test.ts';

export type VariantPreference = 'auto' | ModelVariant;

/** Warm inferences timed per variant when the caller does not say (config `inference.variantRuns`). */
export const DEFAULT_VARIANT_RUNS = 20;

export interface VariantOptions {
  backend: InferenceBackend;
  store: ModelStore;
  slot: ModelSlot;
  manifest: Manifest;
  threads: number;
  preference: VariantPreference;
  /** Warm inferences timed per variant. */
  runs: number;
  smokeInput: SmokeTestInput | null;
  logger: Logger;
  /** Variants the download rejected (bad hash), for the report. */
  rejected?: readonly RejectedVariant[];
  /** Use the choice recorded in the slot when it still applies (restarts). */
  usePersisted?: boolean;
}

const now = () => new Date().toISOString();

/**
 * Median ms per run of each session over `runs` rounds of one run each (blank frame, as a camera's
 * frames are). Interleaved so a load change hits both; the median, because on a busy board a few
 * runs that waited for the CPU would otherwise decide.
 */
async function timeInterleaved(
  models: readonly LoadedModel[],
  manifest: Manifest,
  runs: number,
): Promise<number[]> {
  const times = models.map(() => [] as number[]);
  const input = blankInput(manifest.input);
  for (let r = 0; r < runs; r++) {
    for (const [i, model] of models.entries()) {
      const start = performance.now();
      await model.session.run(input);
      times[i].push(performance.now() - start);
    }
  }
  return times.map((t) => {
    const sorted = [...t].sort((a, b) => a - b);
    const mid = sorted.length / 2;
    const median = sorted.length % 2 ? sorted[Math.floor(mid)] : (sorted[mid - 1] + sorted[mid]) / 2;
    return Math.round(median * 1000) / 1000;
  });
}

/** Loads the recorded choice when it applies; null when there is none or it fails its checks. */
async function loadPersisted(o: VariantOptions): Promise<LoadedModel | null> {
  if (o.preference !== 'auto') return null;
  const record = await o.store.readVariantChoice(o.slot);
  if (!record || record.choice.reason === 'config') return null;
  const { choice } = record;
  const file = modelVariants(o.manifest).find((v) => v.variant === choice.variant)?.file;
  const provider = await o.backend.prepare();
  if (
    !file ||
    file.sha256 !== record.sha256 ||
    choice.modelVersion !== o.manifest.modelVersion ||
    choice.executionProvider !== provider
  )
    return null;
  try {
    const model = await loadCheckedModel(
      o.backend,
      o.store.modelFilePath(o.slot, o.manifest, choice.variant),
      o.manifest,
      o.threads,
      o.slot,
      o.smokeInput,
    );
    return { ...model, variant: { ...choice, reason: 'persisted' } };
  } catch (err) {
    o.logger.warn(
      { err: toEdgeloopError(err), variant: choice.variant, modelVersion: o.manifest.modelVersion },
      'recorded model variant failed its checks; choosing again',
    );
    return null;
  }
}

/**
 * Loads the variant to serve from a complete slot and records the choice there. Throws the first
 * variant's error when none passes (MODEL_INVALID, or CHECKSUM_MISMATCH when no file is left).
 */
export async function loadBestVariant(o: VariantOptions): Promise<LoadedModel> {
  const { manifest, logger } = o;
  if (o.usePersisted) {
    const persisted = await loadPersisted(o);
    if (persisted) return persisted;
  }
  const present = new Set(await o.store.variantsPresent(o.slot, manifest));
  const all = modelVariants(manifest).map((v) => v.variant);
  const order =
    o.preference === 'auto'
      ? all
      : [...all].sort((a, b) => Number(b === o.preference) - Number(a === o.preference));
  const timings = new Map<ModelVariant, VariantTiming>();
  const passed: { variant: ModelVariant; model: LoadedModel }[] = [];
  let firstError: unknown = null;
  for (const variant of order) {
    const rejected = o.rejected?.find((r) => r.variant === variant);
    if (!present.has(variant)) {
      const reason = rejected?.reason ?? 'file missing or failed verification';
      timings.set(variant, { variant, medianMs: null, failed: reason.slice(0, 500) });
      continue;
    }
    try {
      const model = await loadCheckedModel(
        o.backend,
        o.store.modelFilePath(o.slot, manifest, variant),
        manifest,
        o.threads,
        o.slot,
        o.smokeInput,
      );
      passed.push({ variant, model });
      timings.set(variant, { variant, medianMs: null });
    } catch (err) {
      firstError ??= err;
      const error = toEdgeloopError(err);
      logger.warn(
        { err: error, variant, modelVersion: manifest.modelVersion },
        'model variant failed its checks',
      );
      timings.set(variant, {
        variant,
        medianMs: null,
        failed: `${error.code}: ${error.message}`.slice(0, 500),
      });
      continue;
    }
    // A configured variant that passed serves untimed: nothing to compare it with.
    if (o.preference !== 'auto') break;
  }
  if (passed.length === 0) {
    throw (
      firstError ??
      new EdgeloopError('MODEL_INVALID', `no variant of version ${manifest.modelVersion} is available`)
    );
  }
  let chosen = passed[0];
  let reason: VariantChoice['reason'] =
    o.preference !== 'auto' && chosen.variant === o.preference ? 'config' : 'only';
  if (passed.length > 1) {
    let medians: number[];
    try {
      medians = await timeInterleaved(
        passed.map((p) => p.model),
        manifest,
        o.runs,
      );
    } catch (err) {
      for (const p of passed) await p.model.session.release();
      throw err;
    }
    for (const [i, { variant }] of passed.entries()) timings.set(variant, { variant, medianMs: medians[i] });
    chosen = passed[medians.indexOf(Math.min(...medians))];
    reason = 'measured';
    for (const p of passed) if (p !== chosen) await p.model.session.release();
  }
  const { variant, model } = chosen;
  const choice: VariantChoice = {
    modelVersion: manifest.modelVersion,
    variant,
    reason,
    executionProvider: model.session.executionProvider,
    timings: order.flatMap((v) => timings.get(v) ?? []),
    measuredAt: now(),
  };
  const file = modelVariants(manifest).find((v) => v.variant === variant)!.file;
  try {
    await o.store.writeVariantChoice(o.slot, { protocol: PROTOCOL_VERSION, sha256: file.sha256, choice });
  } catch (err) {
    await model.session.release();
    throw err;
  }
  logger.info({ ...choice }, 'model variant chosen');
  return { ...model, variant: choice };
}

/** One line for an event or a log: `int8 (measured: int8 3.1 ms, fp32 4.2 ms)`. */
export function describeChoice(choice: VariantChoice): string {
  const parts = choice.timings.map((t) =>
    t.failed
      ? `${t.variant} rejected (${t.failed})`
      : `${t.variant} ${t.medianMs === null ? 'untimed' : `${t.medianMs} ms`}`,
  );
  return `version ${choice.modelVersion} runs ${choice.variant} on ${choice.executionProvider} (${choice.reason}: ${parts.join(', ')})`;
}
