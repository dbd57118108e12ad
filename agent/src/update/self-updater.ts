/**
 * Agent self-updates, the agent's half (the launcher, deploy/device/edgeloop-launcher, is the
 * other): when the verified desired state names another agent version, download that version's
 * bundle for this machine, check it against the signed desired state (sha256, size) and against
 * its own signed manifest, unpack it into the inactive slot, switch the pointer and ask to be
 * restarted. After a restart into a trial slot, the new agent confirms itself once it has run
 * connected for `healthySeconds`; if it never does, the launcher reverts it and the old agent,
 * started again, reports the failure.
 */
import { createHash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type AgentArch,
  type AgentUpdateProgress,
  ChecksumError,
  compareAgentVersions,
  type DesiredAgent,
  EdgeloopError,
  type Logger,
  NetworkError,
  type TrustedKey,
  toEdgeloopError,
} from '@edgeloop/shared';
import type { ControlPlaneClient } from '../comms/control-plane-client.ts';
import { type BackoffOptions, backoffDelay } from '../util/backoff.ts';
import type { AgentSlots } from './agent-slots.ts';

export interface SelfUpdaterDeps {
  slots: AgentSlots;
  client: ControlPlaneClient;
  /** The keys the device trusts now (they follow key rotation through the desired state). */
  trustedKeys: () => readonly TrustedKey[];
  report: (progress: Omit<AgentUpdateProgress, 'at'>) => void;
  /** Stop and exit so the launcher starts the switched-to slot. */
  restart: (reason: string) => void;
  /** Connected and reporting: what "healthy" means for confirming a trial. */
  healthy: () => boolean;
  runningVersion: string;
  arch: AgentArch;
  healthySeconds: number;
  retry: BackoffOptions;
  logger: Logger;
}

export class SelfUpdater {
  private desired: DesiredAgent | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly abort = new AbortController();

  constructor(private readonly deps: SelfUpdaterDeps) {}

  /** Reports how the last self-update ended and, in a trial, starts the wait for confirmation. */
  async start(): Promise<void> {
    const { slots, runningVersion, logger } = this.deps;
    await slots.ensure();
    const trial = await slots.trial();
    const result = await slots.result();
    if (trial && trial.version === runningVersion) {
      logger.info({ version: runningVersion, slot: trial.slot }, 'running a self-update on trial');
      this.deps.report({
        targetVersion: runningVersion,
        phase: 'installed',
        detail: `on trial in ${trial.slot}: confirming health`,
      });
      this.confirmLater(Date.now() + this.deps.healthySeconds * 1000);
      return;
    }
    // The floor starts at whatever runs first, so a device never goes below its installed version.
    if (!trial) await slots.raiseFloor(runningVersion);
    if (result?.outcome === 'reverted') {
      logger.warn({ version: result.version, reason: result.reason }, 'self-update was reverted');
      this.deps.report({
        targetVersion: result.version,
        phase: 'reverted',
        code: 'AGENT_UPDATE_REVERTED',
        detail: result.reason,
      });
    } else if (result?.outcome === 'confirmed' && result.version === runningVersion) {
      this.deps.report({ targetVersion: runningVersion, phase: 'active' });
    }
  }

  setDesired(desired: DesiredAgent | undefined): void {
    this.desired = desired ?? null;
    this.attempt = 0;
    this.kick();
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.abort.abort();
    await this.running?.catch(() => {});
  }

  private kick(): void {
    if (this.abort.signal.aborted) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.applyDesired().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  private confirmLater(at: number): void {
    this.timer = setTimeout(
      () => {
        this.timer = null;
        if (!this.deps.healthy()) {
          this.confirmLater(Date.now() + 1000);
          return;
        }
        const version = this.deps.runningVersion;
        this.deps.slots
          .confirm(version)
          .then(() => {
            this.deps.logger.info({ version }, 'self-update confirmed healthy');
            this.deps.report({ targetVersion: version, phase: 'active' });
            // A newer desired version that arrived during the trial waited for this.
            this.kick();
          })
          .catch((err) => this.deps.logger.error({ err }, 'confirming the self-update failed'));
      },
      Math.max(0, at - Date.now()),
    );
    this.timer.unref();
  }

  /** The loop boundary of self-updates: errors end here, logged and reported. */
  private async applyDesired(): Promise<void> {
    const target = this.desired;
    if (!target || target.agentVersion === this.deps.runningVersion) return;
    if ((await this.deps.slots.trial())?.version === this.deps.runningVersion) return; // confirm first
    const version = target.agentVersion;
    const last = await this.deps.slots.result();
    // Reverted once: reported at start; trying again would crash-loop the device again.
    if (last?.outcome === 'reverted' && last.version === version) return;
    try {
      await this.install(target);
    } catch (err) {
      const error = toEdgeloopError(err);
      if (this.abort.signal.aborted) return;
      if (error instanceof NetworkError || error.code === 'UPSTREAM_FAILED') {
        const delay = backoffDelay(this.attempt++, this.deps.retry);
        this.deps.logger.warn({ err: error, version, retryInMs: delay }, 'agent bundle download failed');
        this.timer = setTimeout(() => this.kick(), delay);
        this.timer.unref();
        return;
      }
      this.deps.logger.error({ err: error, version }, 'self-update failed; this agent carries on');
      this.deps.report({ targetVersion: version, phase: 'failed', code: error.code, detail: error.message });
    }
  }

  private async install(target: DesiredAgent): Promise<void> {
    const { slots, arch, logger } = this.deps;
    const version = target.agentVersion;
    const floor = await slots.floor();
    if (floor && compareAgentVersions(version, floor) < 0 && !target.rollback) {
      throw new EdgeloopError(
        'MANIFEST_DOWNGRADE',
        `agent ${version} is older than ${floor}, which this device ran; only an ordered rollback may go back`,
      );
    }
    const bundle = target.bundles.find((b) => b.arch === arch);
    if (!bundle) throw new EdgeloopError('NOT_FOUND', `agent ${version} has no bundle for ${arch}`);
    logger.info({ version, from: this.deps.runningVersion, bytes: bundle.bytes }, 'agent update started');
    this.deps.report({ targetVersion: version, phase: 'downloading' });
    const file = join(slots.root, 'download.tar.gz');
    await this.download(bundle.path, bundle.sha256, bundle.bytes, file);
    const slot = await slots.inactive();
    logger.info({ version, slot }, 'agent bundle downloaded; unpacking and verifying it');
    this.deps.report({ targetVersion: version, phase: 'verifying' });
    await slots.stage(file, slot, { version, arch, trustedKeys: this.deps.trustedKeys() });
    await rm(file, { force: true });
    this.abort.signal.throwIfAborted();
    await slots.switchTo(slot, version);
    logger.info({ version, slot }, 'agent installed in the inactive slot; restarting into it');
    this.deps.report({ targetVersion: version, phase: 'installed', detail: `in ${slot}, restarting` });
    this.deps.restart(`agent ${version} installed in ${slot}`);
  }

  /** Streams the bundle to disk, never more than the signed size, and checks its sha256. */
  private async download(path: string, sha256: string, bytes: number, file: string): Promise<void> {
    const res = await this.deps.client.downloadAgentBundle(path, this.abort.signal);
    const hash = createHash('sha256');
    let written = 0;
    const handle = await open(file, 'w', 0o600);
    try {
      for await (const chunk of res.body ?? []) {
        written += chunk.length;
        if (written > bytes) throw new ChecksumError(`agent bundle is longer than the ${bytes} bytes signed`);
        hash.update(chunk);
        await handle.write(chunk);
      }
      await handle.sync();
    } catch (err) {
      await handle.close();
      await rm(file, { force: true });
      if (err instanceof ChecksumError || this.abort.signal.aborted) throw err;
      throw new NetworkError(`agent bundle download interrupted after ${written} bytes`, err);
    }
    await handle.close();
    const digest = hash.digest('hex');
    if (written !== bytes || digest !== sha256) {
      await rm(file, { force: true });
      throw new ChecksumError(
        `agent bundle has sha256 ${digest} (${written} bytes); the desired state says ${sha256}`,
      );
    }
  }
}
