/**
 * Models for cameras that run another version than the device's (desired state `cameraModels`,
 * from the remote configuration's `cameras[].model`). Each extra version goes through the same
 * verified path as the device's model — signed manifest (trusted key, expiry), download capped and
 * hashed against it, load + warm-up + smoke test, the faster int8/fp32 variant (model-variants.ts)
 * — into its own folder
 * (dataDir/camera-models/<version>/), and is held by its own ActiveModel: one onnxruntime session
 * per distinct version, shared by every camera that names it. A version equal to the device's
 * model uses the device's session.
 *
 * Until its model is loaded, or when its install fails, a camera runs the device's model; a failed
 * install is reported (hook `failed`, with the cameras it concerns) and not retried until the
 * desired state names something new, except network trouble, which is retried with backoff.
 * Versions no camera names any more are released and their folders removed.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type DesiredState,
  type EdgeloopError,
  isTransient,
  type Logger,
  type ModelRef,
  type TrustedKey,
  toEdgeloopError,
  type VariantChoice,
} from '@edgeloop/shared';
import type { ControlPlaneClient } from '../comms/control-plane-client.ts';
import type { InferenceBackend } from '../inference/inference-backend.ts';
import { type BackoffOptions, backoffDelay } from '../util/backoff.ts';
import { ActiveModel, type ModelSource } from './active-model.ts';
import { downloadModelFiles, type RejectedVariant } from './model-downloader.ts';
import { ModelStore } from './model-store.ts';
import { DEFAULT_VARIANT_RUNS, loadBestVariant, type VariantPreference } from './model-variants.ts';
import type { SmokeTestInput } from './smoke-test.ts';
import { fetchVerifiedManifest } from './verified-manifest.ts';

export const CAMERA_MODELS_DIR = 'camera-models';
/** Each extra version has one folder with one slot: it is never replaced in place, only removed. */
const SLOT = 'a';

export interface CameraModelsOptions {
  dataDir: string;
  backend: InferenceBackend;
  client: ControlPlaneClient;
  /** The device's model: the fallback of every camera. */
  device: ActiveModel;
  trustedKeys: readonly TrustedKey[];
  threads: number;
  /** The device installer's variant rule (config `inference.variant`, `inference.variantRuns`). */
  variants?: { preference: VariantPreference; runs: number };
  logger: Logger;
  retry: BackoffOptions;
  smokeInput?: () => SmokeTestInput | null;
  hooks: {
    installed(modelVersion: number, cameraIds: string[]): void;
    failed(modelVersion: number, cameraIds: string[], error: EdgeloopError): void;
    variantChosen?(choice: VariantChoice, cameraIds: string[]): void;
  };
}

const refKey = (ref: ModelRef) => `${ref.modelVersion}|${ref.manifestPath}`;

export class CameraModels {
  /** Camera id → the model it should run. */
  private wanted = new Map<string, ModelRef>();
  private readonly loaded = new Map<number, ActiveModel>();
  /** Model refs whose install failed for good; not tried again until named anew. */
  private readonly refused = new Set<string>();
  private latest: string | null = null;
  private runner: Promise<void> | null = null;
  private again = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private attempts = 0;
  private readonly abort = new AbortController();

  constructor(private readonly o: CameraModelsOptions) {}

  /** From HTTP or MQTT, like the installer's; an older desired state is ignored. */
  setDesired(desired: DesiredState): void {
    if (this.abort.signal.aborted) return;
    if (this.latest && Date.parse(desired.updatedAt) < Date.parse(this.latest)) return;
    this.latest = desired.updatedAt;
    const next = new Map(Object.entries(desired.cameraModels ?? {}));
    // Refusals hold for what is still named; a ref named anew gets a fresh try.
    const named = new Set([...next.values()].map(refKey));
    for (const key of this.refused) if (!named.has(key)) this.refused.delete(key);
    this.wanted = next;
    this.kick();
  }

  /** The model a camera's frames go through now; looked up per frame, so a switch is immediate. */
  sourceFor(cameraId: string): ModelSource {
    const pick = () => {
      const ref = this.wanted.get(cameraId);
      const model =
        ref && ref.modelVersion !== this.o.device.version() ? this.loaded.get(ref.modelVersion) : undefined;
      return model?.get() ? model : this.o.device;
    };
    return {
      get: () => pick().get(),
      version: () => pick().version(),
      use: (fn) => pick().use(fn),
    };
  }

  /** The device's model changed: a camera version equal to it now shares its session, and the other way round. */
  deviceModelChanged(): void {
    this.kick();
  }

  /** Extra versions loaded now (each one onnxruntime session). */
  versions(): number[] {
    return [...this.loaded.keys()].sort((a, b) => a - b);
  }

  async whenIdle(): Promise<void> {
    while (this.runner) await this.runner;
  }

  async close(): Promise<void> {
    this.abort.abort();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.whenIdle();
    for (const model of this.loaded.values()) await model.close();
    this.loaded.clear();
  }

  private kick(): void {
    if (this.runner) {
      this.again = true;
      return;
    }
    this.runner = (async () => {
      do {
        this.again = false;
        await this.sync();
      } while (this.again && !this.abort.signal.aborted);
    })().finally(() => {
      this.runner = null;
    });
  }

  /** Installs what is named and missing, releases what is loaded and no longer named. */
  private async sync(): Promise<void> {
    const { logger } = this.o;
    const byVersion = new Map<number, { ref: ModelRef; cameras: string[] }>();
    const deviceVersion = this.o.device.version();
    for (const [cameraId, ref] of this.wanted) {
      if (ref.modelVersion === deviceVersion) continue;
      const entry = byVersion.get(ref.modelVersion) ?? { ref, cameras: [] };
      entry.cameras.push(cameraId);
      byVersion.set(ref.modelVersion, entry);
    }
    let transient = false;
    for (const [version, { ref, cameras }] of byVersion) {
      if (this.abort.signal.aborted) return;
      if (this.loaded.has(version) || this.refused.has(refKey(ref))) continue;
      try {
        const model = await this.install(ref);
        this.loaded.set(version, model);
        const choice = model.get()?.variant;
        if (choice && choice.reason !== 'persisted') this.o.hooks.variantChosen?.(choice, cameras);
        logger.info({ modelVersion: version, cameras }, 'camera model installed');
        this.o.hooks.installed(version, cameras);
      } catch (err) {
        if (this.abort.signal.aborted) return;
        const error = toEdgeloopError(err);
        logger.error({ err: error, modelVersion: version, cameras }, 'camera model install failed');
        this.o.hooks.failed(version, cameras, error);
        if (isTransient(err)) transient = true;
        else this.refused.add(refKey(ref));
      }
    }
    for (const [version, model] of this.loaded) {
      if (byVersion.has(version)) continue;
      this.loaded.delete(version);
      await model.retire();
      await rm(this.folder(version), { recursive: true, force: true });
      logger.info({ modelVersion: version }, 'camera model released');
    }
    if (transient) this.scheduleRetry();
    else this.attempts = 0;
  }

  private scheduleRetry(): void {
    if (this.retryTimer) return;
    const delay = backoffDelay(this.attempts++, this.o.retry);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.kick();
    }, delay);
    this.retryTimer.unref();
  }

  private folder(version: number): string {
    return join(this.o.dataDir, CAMERA_MODELS_DIR, String(version));
  }

  /** The device installer's checks, without its slots, pointer and anti-rollback (see the file comment). */
  private async install(ref: ModelRef): Promise<ActiveModel> {
    const { client, trustedKeys, logger } = this.o;
    const signal = this.abort.signal;
    const manifest = await fetchVerifiedManifest(client, ref, trustedKeys, signal);
    const store = new ModelStore(this.folder(ref.modelVersion));
    let rejected: RejectedVariant[] = [];
    const held = await store.slotHolds(SLOT, manifest, trustedKeys);
    if (!held) {
      const dir = await store.beginDownload(SLOT, manifest);
      rejected = await downloadModelFiles(client, manifest, dir, { signal, logger });
      await store.commitSlot(SLOT, manifest, { hashed: true });
    }
    let loaded: Awaited<ReturnType<typeof loadBestVariant>>;
    try {
      loaded = await loadBestVariant({
        backend: this.o.backend,
        store,
        slot: SLOT,
        manifest,
        threads: this.o.threads,
        preference: this.o.variants?.preference ?? 'auto',
        runs: this.o.variants?.runs ?? DEFAULT_VARIANT_RUNS,
        smokeInput: this.o.smokeInput?.() ?? null,
        logger,
        rejected,
        // A folder kept from before a restart was measured then: its choice stands.
        usePersisted: held,
      });
    } catch (err) {
      await store.invalidateSlot(SLOT);
      throw err;
    }
    const model = new ActiveModel(logger);
    await model.swap(loaded);
    return model;
  }
}
