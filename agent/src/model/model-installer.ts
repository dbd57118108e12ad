/**
 * Drives the installed model towards the desired one. One exclusive runner: a single install at a
 * time, and a desired state that arrives meanwhile is applied after it (the latest one wins).
 *
 *   manifest → verify signature/trust/expiry/downgrade → download + verify files → commit folder
 *   → load + warm up → persist active.json → swap → prune old versions
 *
 * Any failure leaves the current model serving. Network trouble is retried with backoff; a refused
 * manifest or a bad file is not retried until the control plane says something new.
 */
import {
  type DesiredState,
  EdgeloopError,
  type Logger,
  type Manifest,
  ManifestError,
  type TrustedKey,
  toEdgeloopError,
  verifyManifest,
} from '@edgeloop/shared';
import type { ControlPlaneClient } from '../comms/control-plane-client.ts';
import { isTransient } from '../comms/http-error.ts';
import type { InferenceBackend } from '../inference/inference-backend.ts';
import { type BackoffOptions, backoffDelay } from '../util/backoff.ts';
import { type ActiveModel, type LoadedModel, loadModel } from './active-model.ts';
import { downloadModelFiles } from './model-downloader.ts';
import type { ModelStore } from './model-store.ts';

export type InstallStatus = 'idle' | 'downloading' | 'verifying' | 'running' | 'error';

export interface InstallerHooks {
  status(status: InstallStatus, detail?: string): void;
  installed(modelVersion: number, previousVersion: number | null): void;
  failed(modelVersion: number | null, error: EdgeloopError): void;
}

export interface ModelInstallerOptions {
  store: ModelStore;
  backend: InferenceBackend;
  client: ControlPlaneClient;
  active: ActiveModel;
  trustedKeys: readonly TrustedKey[];
  threads: number;
  hooks: InstallerHooks;
  logger: Logger;
  retry: BackoffOptions;
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
  private readonly abort = new AbortController();

  constructor(private readonly o: ModelInstallerOptions) {}

  /** Loads the persisted active model without the network. Returns its version, or null. */
  async restoreFromDisk(): Promise<number | null> {
    const { store, logger } = this.o;
    const version = await store.readActive();
    if (version === null) return null;
    try {
      const manifest = await store.readInstalledManifest(version, this.o.trustedKeys);
      const model = await this.load(version, manifest, true);
      await this.o.active.swap(model);
      logger.info({ modelVersion: version }, 'active model loaded from disk');
      this.o.hooks.status('running');
      return version;
    } catch (err) {
      const error = toEdgeloopError(err);
      logger.error({ err: error, modelVersion: version }, 'cannot load the active model from disk');
      this.o.hooks.status('error', `cannot load installed version ${version}: ${error.message}`);
      return null;
    }
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
      hooks.status('running');
      return;
    }
    const key = desiredKey(desired);
    if (key === this.refusedKey) return;
    try {
      await this.install(desired.modelVersion, desired.manifestPath);
      this.attempts = 0;
    } catch (err) {
      if (this.abort.signal.aborted) return;
      const error = toEdgeloopError(err);
      const detail = `install of version ${desired.modelVersion} failed: ${error.code}: ${error.message}`;
      logger.error({ err: error, modelVersion: desired.modelVersion, current }, 'model install failed');
      hooks.status('error', detail.slice(0, 500));
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

  private async install(version: number, manifestPath: string): Promise<void> {
    const { store, client, active, hooks, logger } = this.o;
    const signal = this.abort.signal;

    hooks.status('verifying', `checking manifest of version ${version}`);
    const manifest = verifyManifest(await client.getManifest(manifestPath, signal), {
      trustedKeys: this.o.trustedKeys,
    });
    if (manifest.modelVersion !== version) {
      throw new EdgeloopError(
        'MODEL_INVALID',
        `manifest at ${manifestPath} is for version ${manifest.modelVersion}, desired is ${version}`,
      );
    }
    const current = active.version();
    if (current !== null && version < current && !manifest.rollback) {
      throw new ManifestError(
        'MANIFEST_DOWNGRADE',
        `refusing version ${version}: older than the installed ${current} and not marked as a rollback`,
      );
    }
    if (manifest.files.filter((f) => f.role === 'model').length !== 1) {
      throw new EdgeloopError(
        'MODEL_INVALID',
        `manifest of version ${version} must list exactly one model file`,
      );
    }

    if (!(await store.isComplete(version, manifest))) {
      hooks.status('downloading', `downloading version ${version}`);
      const dir = await store.preparePartial(version);
      await downloadModelFiles(client, manifest, dir, { signal, logger });
      await store.commit(version, manifest);
    }

    hooks.status('verifying', `loading version ${version}`);
    const model = await this.load(version, manifest, false);
    try {
      signal.throwIfAborted();
      // Persisted before the swap: a crash in between restarts on the new, already verified model.
      await store.writeActive(version);
    } catch (err) {
      await model.session.release();
      throw err;
    }
    const previous = await active.swap(model);
    logger.info({ modelVersion: version, previous: previous?.version ?? null }, 'model installed');
    hooks.installed(version, previous?.version ?? null);
    hooks.status('running');
    const keep = previous ? [version, previous.version] : [version];
    await store.prune(keep).catch((err) => logger.warn({ err }, 'pruning old model versions failed'));
  }

  private async load(version: number, manifest: Manifest, verifyOnDisk: boolean): Promise<LoadedModel> {
    const { store } = this.o;
    if (verifyOnDisk && !(await store.isComplete(version, manifest))) {
      throw new EdgeloopError(
        'MODEL_INVALID',
        `installed files of version ${version} are missing or corrupt`,
      );
    }
    return loadModel(this.o.backend, store.modelFilePath(version, manifest), manifest, this.o.threads);
  }
}
