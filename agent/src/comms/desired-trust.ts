/**
 * Which desired states the agent believes. Each must verify (shared verifyDesiredState): signed by
 * a key the agent trusts, for this device, not older than the last one accepted, not dated in the
 * future. The keys it trusts start as config.trustedKeys and then follow the `trustedKeys` of each
 * accepted desired state (the control plane's key rotation). The last sequence and the trusted
 * keys are kept in dataDir/desired-trust.json (0600, atomic), so a restart does not reopen the
 * door to a replay.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type DesiredState,
  type DesiredTrustFile,
  DesiredTrustFileSchema,
  type Logger,
  parseJsonWith,
  type TrustedKey,
  verifyDesiredState,
  writeFileAtomic,
} from '@edgeloop/shared';

export function desiredTrustPath(dataDir: string): string {
  return join(dataDir, 'desired-trust.json');
}

export class DesiredTrust {
  private saving: Promise<void> = Promise.resolve();

  private constructor(
    private readonly file: string,
    private state: DesiredTrustFile,
    private readonly deviceId: string,
    private readonly logger: Logger,
  ) {}

  static async open(options: {
    dataDir: string;
    deviceId: string;
    configKeys: readonly TrustedKey[];
    logger: Logger;
  }): Promise<DesiredTrust> {
    const file = desiredTrustPath(options.dataDir);
    let state: DesiredTrustFile = { lastSequence: 0, trustedKeys: [...options.configKeys] };
    try {
      state = parseJsonWith(DesiredTrustFileSchema, await readFile(file, 'utf8'), file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    return new DesiredTrust(file, state, options.deviceId, options.logger);
  }

  /** The manifest keys trusted now (the installer asks on every verification). */
  trustedKeys(): readonly TrustedKey[] {
    return this.state.trustedKeys;
  }

  /** The desired state when it is to be believed; throws a named EdgeloopError otherwise. */
  accept(data: unknown): DesiredState {
    const desired = verifyDesiredState(data, {
      deviceId: this.deviceId,
      trustedKeys: this.state.trustedKeys,
      lastSequence: this.state.lastSequence,
    });
    const keysChanged =
      desired.trustedKeys.map((k) => k.keyId).join() !== this.state.trustedKeys.map((k) => k.keyId).join();
    if (desired.sequence === this.state.lastSequence && !keysChanged) return desired;
    if (keysChanged) {
      this.logger.info({ keys: desired.trustedKeys.map((k) => k.keyId) }, 'trusted signing keys updated');
    }
    this.state = { lastSequence: desired.sequence, trustedKeys: desired.trustedKeys };
    const snapshot = JSON.stringify(this.state);
    // Writes in order; a failed write is logged, the next accepted state writes again.
    this.saving = this.saving
      .then(() => writeFileAtomic(this.file, `${snapshot}\n`, { mode: 0o600 }))
      .catch((err) => this.logger.error({ err }, 'saving desired-state trust failed'));
    return desired;
  }

  /** Resolves when the last accepted state is on disk. */
  flush(): Promise<void> {
    return this.saving;
  }
}
