/**
 * Drives the installed model towards the desired one. One exclusive runner: a single install at a
 * time, and a desired state that arrives meanwhile is applied after it (the latest one wins).
 *
 *   manifest → verify signature/trust/expiry/anti-rollback → download into the inactive slot
 *   (resumable, capped, hashed) → commit slot → load + warm up + smoke test each variant (int8,
 *   fp32), time them, keep the faster (model-variants.ts) → write the pointer (atomic) → swap →
 *   report active
 *
 * A version already complete in the inactive slot (the previous one, after a rollback order) is
 * switched to without a download. Any failure leaves the current model serving. Network trouble
 * is retried with backoff; a refused manifest or a bad file is not retried until the control
 * plane says something new. Every phase is reported through `hooks.progress`.
 */
import {
  type DesiredState,
  type EdgeloopError,
  isTransient,
  type Logger,
  type Manifest,
  ManifestError,
  type ModelSlot,
  type TrustedKey,
  toEdgeloopError,
  type UpdatePhase,
  type VariantChoice,
} from '@edgeloop/shared';
import type { Frame } from '../camera/camera.ts';
import type { ControlPlaneClient } from '../comms/control-plane-client.ts';
import type { ImageCodec } from '../image/image-codec.ts';
import type { InferenceBackend } from '../inference/inference-backend.ts';
import { type BackoffOptions, backoffDelay } from '../util/backoff.ts';
import type { ActiveModel, LoadedModel } from './active-model.ts';
import { downloadModelFiles, type RejectedVariant } from './model-downloader.ts';
import { type ModelStore, otherSlot, SLOTS } from './model-store.ts';
import { DEFAULT_VARIANT_RUNS, loadBestVariant, type VariantPreference } from './model-variants.ts';
import { type ShadowAgreement, shadowAgreement } from './shadow-run.ts';
import type { SmokeTestInput } from './smoke-test.ts';
import { fetchVerifiedManifest } from './verified-manifest.ts';

export type InstallStatus = 'idle' | 'downloading' | 'verifying' | 'running' | 'error';

export interface UpdateReport {
  targetVersion: number;
  phase: UpdatePhase;
  rollback: boolean;
  code?: string;
  detail?: string;
  agreement?: ShadowAgreement;
}

export interface InstallerHooks {
  status(status: InstallStatus, detail?: string): void;
  /** One report per update phase; the run status follows from it (StateReporter.setUpdate). */
  progress(report: UpdateReport): void;
  installed(modelVersion: number, previousVersion: number | null): void;
  failed(modelVersion: number | null, error: EdgeloopError): void;
  /** A variant was chosen by measuring or configuration (not when a restart reused a recorded one). */
  variantChosen?(choice: VariantChoice): void;
}

export interface ModelInstallerOptions {
  store: ModelStore;
  backend: InferenceBackend;
  client: ControlPlaneClient;
  active: ActiveModel;
  trustedKeys: readonly TrustedKey[];
  threads: number;
  /** Config `inference.variant` and `inference.variantRuns` (model-variants.ts). */
  variants?: { preference: VariantPreference; runs: number };
  hooks: InstallerHooks;
  logger: Logger;
  retry: BackoffOptions;
  /** Recent camera frames for the smoke test; without them only a blank frame is checked. */
  smokeInput?: () => SmokeTestInput | null;
  /** Shadow mode (config `updates.shadowFrames` > 0): where new frames come from. */
  shadow?: {
    frames: number;
    timeoutMs: number;
    next(n: number, timeoutMs: number, signal: AbortSignal): Promise<Frame[]>;
    codec: ImageCodec;
  };
}

function desiredKey(d: DesiredState): string {
  return `${d.modelVersion}|${d.manifestPath}|${d.updatedAt}`;
}

export class ModelInstaller {
  private pending: DesiredState | null = null;
  /** The newest desired state seen; HTTP and MQTT both deliver, and an older one must not win. */
  private latest: DesiredState | null = null;
  private runner: Promise<void> | null = null;
  /** The desired state whose install failed for good; the same one is not tried again. */
  private refusedKey: string | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private attempts = 0;
  /** Whether the install running now came from a rollback manifest (for progress reports). */
  private rollbackInFlight = false;
  /** Highest version ever activated (from the pointer): manifests below it need `rollback`. */
  private highest = 0;
  private readonly abort = new AbortController();

  constructor(private readonly o: ModelInstallerOptions) {}

  /**
   * Loads a model from disk without the network: the slot the pointer names, or else the other
   * slot, whichever is complete, re-verified (signature, every file's hash) and passes its smoke
   * test. A slot that fails is skipped, so a crash mid-install never leaves the agent without a
   * valid model when it had one. Returns the version, or null.
   */
  async restoreFromDisk(): Promise<number | null> {
    const { store, logger, trustedKeys } = this.o;
    const pointer = await store.readPointer();
    this.highest = pointer?.highestVersion ?? 0;
    const order: ModelSlot[] = pointer ? [pointer.slot, otherSlot(pointer.slot)] : [...SLOTS];
    for (const slot of order) {
      const manifest = await store.readSlot(slot, trustedKeys, true);
      if (!manifest) continue;
      let model: LoadedModel;
      try {
        model = await this.loadChecked(slot, manifest, { usePersisted: true });
      } catch (err) {
        logger.error({ err: toEdgeloopError(err), slot }, 'installed model failed its checks; skipping it');
        continue;
      }
      const version = manifest.modelVersion;
      if (slot !== pointer?.slot) {
        logger.warn({ slot, modelVersion: version, pointer }, 'pointer repaired to a valid slot');
        await store.writePointer(slot, version, this.highest);
      }
      this.highest = Math.max(this.highest, version);
      await this.o.active.swap(model);
      logger.info({ modelVersion: version, slot }, 'active model loaded from disk');
      this.o.hooks.status('running');
      return version;
    }
    if (pointer) {
      logger.error({ pointer }, 'no installed model passes its checks');
      this.o.hooks.status('error', `cannot load installed version ${pointer.modelVersion}: no valid slot`);
    }
    return null;
  }

  /** Accepts a desired state from HTTP or MQTT; duplicates and already-applied states are no-ops. */
  setDesired(desired: DesiredState): void {
    if (this.abort.signal.aborted) return;
    if (this.latest && Date.parse(desired.updatedAt) < Date.parse(this.latest.updatedAt)) {
      this.o.logger.debug({ desired, latest: this.latest }, 'ignoring an older desired state');
      return;
    }
    this.latest = desired;
    this.pending = desired;
    this.clearRetry();
    this.attempts = 0;
    this.kick();
  }

  /** Resolves once no install is running or queued (retries scheduled later do not count). */
  async whenIdle(): Promise<void> {
    while (this.runner) await this.runner;
  }

  async close(): Promise<void> {
    this.abort.abort();
    this.clearRetry();
    this.pending = null;
    await this.whenIdle();
  }

  private kick(): void {
    if (this.runner) return;
    this.runner = this.drain().finally(() => {
      this.runner = null;
    });
  }

  private async drain(): Promise<void> {
    while (this.pending && !this.abort.signal.aborted) {
      const desired = this.pending;
      this.pending = null;
      await this.apply(desired);
    }
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private async apply(desired: DesiredState): Promise<void> {
    const { active, hooks, logger } = this.o;
    const current = active.version();
    if (desired.modelVersion === null || desired.manifestPath === null) {
      logger.info({ current }, 'no model assigned; keeping the current one');
      if (current === null) hooks.status('idle');
      return;
    }
    if (desired.modelVersion === current) {
      // E.g. an assignment put back after a failed install: nothing to do, and no error left.
      hooks.progress({ targetVersion: current, phase: 'active', rollback: false });
      return;
    }
    const key = desiredKey(desired);
    if (key === this.refusedKey) return;
    try {
      await this.install(desired.modelVersion, desired.manifestPath, desired.rollbackOrder);
      this.attempts = 0;
    } catch (err) {
      if (this.abort.signal.aborted) return;
      const error = toEdgeloopError(err);
      logger.error({ err: error, modelVersion: desired.modelVersion, current }, 'model install failed');
      // A transient failure is retried: for the control plane the download is still under way.
      hooks.progress({
        targetVersion: desired.modelVersion,
        phase: isTransient(err) ? 'downloading' : 'failed',
        rollback: this.rollbackInFlight,
        code: error.code,
        detail: `${error.code}: ${error.message}`.slice(0, 500),
      });
      hooks.failed(desired.modelVersion, error);
      if (isTransient(err)) this.scheduleRetry(desired);
      else this.refusedKey = key;
    }
  }

  private scheduleRetry(desired: DesiredState): void {
    const delay = backoffDelay(this.attempts++, this.o.retry);
    this.o.logger.info({ modelVersion: desired.modelVersion, delayMs: delay }, 'will retry the install');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.pending === null) {
        this.pending = desired;
        this.kick();
      }
    }, delay);
    this.retryTimer.unref();
  }

  private async install(version: number, manifestPath: string, rollbackOrder?: string): Promise<void> {
    const { store, client, active, hooks, logger, trustedKeys } = this.o;
    const signal = this.abort.signal;
    this.rollbackInFlight = false;
    const progress = (phase: UpdatePhase, detail?: string) =>
      hooks.progress({ targetVersion: version, phase, rollback: this.rollbackInFlight, detail });

    hooks.status('verifying', `checking manifest of version ${version}`);
    const manifest = await fetchVerifiedManifest(
      client,
      { modelVersion: version, manifestPath },
      trustedKeys,
      signal,
    );
    this.rollbackInFlight = manifest.rollback;
    const floor = Math.max(this.highest, active.version() ?? 0);
    if (version < floor && !manifest.rollback) {
      throw new ManifestError(
        'MANIFEST_DOWNGRADE',
        `refusing version ${version}: older than the installed ${floor} and not marked as a rollback`,
      );
    }
    // Below the floor only a rollback manifest signed for the order the desired state names.
    if (version < floor && (!manifest.rollbackOrder || manifest.rollbackOrder !== rollbackOrder)) {
      throw new ManifestError(
        'MANIFEST_DOWNGRADE',
        `refusing rollback to version ${version}: signed for order '${manifest.rollbackOrder ?? 'none'}', desired state orders '${rollbackOrder ?? 'none'}'`,
      );
    }
    logger.info({ modelVersion: version, rollback: manifest.rollback }, 'manifest verified');

    // The live slot is never written; with no live model either slot will do.
    const slot = active.get() ? otherSlot(active.get()!.slot) : 'a';
    let rejected: RejectedVariant[] = [];
    if (await store.slotHolds(slot, manifest, trustedKeys)) {
      logger.info({ modelVersion: version, slot }, 'version already complete in the inactive slot');
      progress('verifying', `loading and smoke-testing version ${version}`);
    } else {
      progress('downloading', `downloading version ${version}`);
      const dir = await store.beginDownload(slot, manifest);
      logger.info({ modelVersion: version, slot }, 'download started');
      rejected = await downloadModelFiles(client, manifest, dir, { signal, logger });
      progress('verifying', `verifying, loading and smoke-testing version ${version}`);
      // downloadModelFiles hashed every byte it wrote (and resumed files from disk).
      await store.commitSlot(slot, manifest, { hashed: true });
      logger.info({ modelVersion: version, slot }, 'slot committed');
    }

    let model: LoadedModel;
    try {
      model = await this.loadChecked(slot, manifest, { rejected });
    } catch (err) {
      // A model that loads badly or fails its smoke test must never be picked at a restart.
      await store.invalidateSlot(slot);
      throw err;
    }
    try {
      signal.throwIfAborted();
      logger.info({ modelVersion: version, slot }, 'smoke test passed');
      await this.shadowRun(model, signal);
      signal.throwIfAborted();
      // The commit point: a crash before it restarts on the old slot, after it on the new one.
      await store.writePointer(slot, version, this.highest);
      logger.info({ modelVersion: version, slot }, 'pointer written');
    } catch (err) {
      await model.session.release();
      throw err;
    }
    this.highest = Math.max(this.highest, version);
    progress('installed', `version ${version} verified; switching`);
    const previous = await active.swap(model);
    logger.info({ modelVersion: version, slot, previous: previous?.version ?? null }, 'model installed');
    hooks.installed(version, previous?.version ?? null);
    progress('active');
  }

  /** Shadow mode: compare the candidate with the active model on new frames and report it. */
  private async shadowRun(candidate: LoadedModel, signal: AbortSignal): Promise<void> {
    const { shadow, active, hooks, logger } = this.o;
    if (!shadow || shadow.frames <= 0 || !active.get()) return;
    const version = candidate.version;
    hooks.progress({
      targetVersion: version,
      phase: 'verifying',
      rollback: this.rollbackInFlight,
      detail: `shadow mode: comparing with version ${active.version()} on ${shadow.frames} frames`,
    });
    const frames = await shadow.next(shadow.frames, shadow.timeoutMs, signal);
    const agreement = await shadowAgreement(candidate, active, frames, shadow.codec);
    logger.info({ modelVersion: version, agreement }, 'shadow run finished');
    hooks.progress({
      targetVersion: version,
      phase: 'verifying',
      rollback: this.rollbackInFlight,
      agreement: agreement ?? undefined,
      detail: agreement
        ? `shadow agreement with version ${active.version()}: ${(agreement.rate * 100).toFixed(1)}% of ${agreement.frames} frames`
        : 'shadow mode: no frames to compare on',
    });
  }

  /**
   * Creates the session of each variant (with its warm-up), runs the smoke test, keeps the faster
   * one that passed (or the recorded choice at a restart); releases every other session.
   */
  private async loadChecked(
    slot: ModelSlot,
    manifest: Manifest,
    extra: { rejected?: RejectedVariant[]; usePersisted?: boolean },
  ): Promise<LoadedModel> {
    const model = await loadBestVariant({
      backend: this.o.backend,
      store: this.o.store,
      slot,
      manifest,
      threads: this.o.threads,
      preference: this.o.variants?.preference ?? 'auto',
      runs: this.o.variants?.runs ?? DEFAULT_VARIANT_RUNS,
      smokeInput: this.o.smokeInput?.() ?? null,
      logger: this.o.logger,
      ...extra,
    });
    if (model.variant && model.variant.reason !== 'persisted') this.o.hooks.variantChosen?.(model.variant);
    return model;
  }
}
