/**
 * The model that serves frames now. A swap is atomic for callers: `use()` pins the model it started
 * with, so the old session keeps serving in-flight frames and is released only once they finish.
 */
import type { Logger, Manifest, ModelSlot, VariantChoice } from '@edgeloop/shared';
import type { InferenceBackend, ModelSession } from '../inference/inference-backend.ts';
import { classify } from '../inference/postprocess.ts';
import { blankInput } from '../inference/preprocess.ts';
import { type SmokeTestInput, smokeTest } from './smoke-test.ts';

export interface LoadedModel {
  version: number;
  /** The on-disk slot the session was loaded from. */
  slot: ModelSlot;
  manifest: Manifest;
  session: ModelSession;
  /** Which variant this is and why (model-variants.ts); absent on a model loaded without a choice. */
  variant?: VariantChoice;
}

/** Creates a session for an installed model and warms it up with one inference on a blank frame. */
export async function loadModel(
  backend: InferenceBackend,
  modelPath: string,
  manifest: Manifest,
  threads: number,
  slot: ModelSlot,
): Promise<LoadedModel> {
  const session = await backend.createSession(modelPath, {
    threads,
    inputName: manifest.input.name,
    outputName: manifest.output.name,
  });
  try {
    // The warm-up also proves the model matches its manifest: shape, dtype and label count.
    const output = await session.run(blankInput(manifest.input));
    classify(output, manifest.output, manifest.labels, 1);
  } catch (err) {
    await session.release();
    throw err;
  }
  return { version: manifest.modelVersion, slot, manifest, session };
}

/** loadModel, then the smoke test on recent frames; the session is released when it fails. */
export async function loadCheckedModel(
  backend: InferenceBackend,
  modelPath: string,
  manifest: Manifest,
  threads: number,
  slot: ModelSlot,
  smokeInput: SmokeTestInput | null,
): Promise<LoadedModel> {
  const model = await loadModel(backend, modelPath, manifest, threads, slot);
  try {
    await smokeTest(model.session, manifest, smokeInput);
  } catch (err) {
    await model.session.release();
    throw err;
  }
  return model;
}

/** What a camera's frame loop needs of a model holder (ActiveModel, or a per-camera choice of one). */
export interface ModelSource {
  get(): LoadedModel | null;
  version(): number | null;
  use<T>(fn: (model: LoadedModel) => Promise<T>): Promise<T | null>;
}

export class ActiveModel implements ModelSource {
  private current: LoadedModel | null = null;
  private readonly pins = new Map<LoadedModel, number>();
  private readonly retired = new Set<LoadedModel>();

  constructor(private readonly logger: Logger) {}

  get(): LoadedModel | null {
    return this.current;
  }

  version(): number | null {
    return this.current?.version ?? null;
  }

  /** Runs `fn` with the current model pinned; returns null when no model is loaded. */
  async use<T>(fn: (model: LoadedModel) => Promise<T>): Promise<T | null> {
    const model = this.current;
    if (!model) return null;
    this.pins.set(model, (this.pins.get(model) ?? 0) + 1);
    try {
      return await fn(model);
    } finally {
      const left = (this.pins.get(model) ?? 1) - 1;
      if (left > 0) this.pins.set(model, left);
      else {
        this.pins.delete(model);
        if (this.retired.has(model)) await this.release(model);
      }
    }
  }

  /** Makes `next` current; the previous model is released as soon as nothing uses it. */
  async swap(next: LoadedModel): Promise<LoadedModel | null> {
    const previous = this.current;
    this.current = next;
    if (previous) {
      if (this.pins.has(previous)) this.retired.add(previous);
      else await this.release(previous);
    }
    return previous;
  }

  /** No model from now on; the current one is released as soon as nothing uses it. */
  async retire(): Promise<void> {
    const previous = this.current;
    this.current = null;
    if (!previous) return;
    if (this.pins.has(previous)) this.retired.add(previous);
    else await this.release(previous);
  }

  async close(): Promise<void> {
    const all = new Set([...this.retired, ...(this.current ? [this.current] : [])]);
    this.current = null;
    for (const model of all) await this.release(model);
  }

  private async release(model: LoadedModel): Promise<void> {
    this.retired.delete(model);
    try {
      await model.session.release();
    } catch (err) {
      this.logger.warn({ err, modelVersion: model.version }, 'releasing a model session failed');
    }
  }
}
