/**
 * The on-disk side of agent self-updates, shared with deploy/device/edgeloop-launcher (which reads
 * the same files; keep the formats in step): two slots for unpacked bundles, a `current` symlink
 * the launcher runs through, a `trial` file while a switched-to slot has not confirmed itself, and
 * the last outcome. Every write is a temp file + fsync + rename + folder fsync, and the steps are
 * ordered so that a power cut between any two leaves a pointer at verified code.
 */
import { execFile } from 'node:child_process';
import { mkdir, readlink, rename, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  type AgentArch,
  ChecksumError,
  compareAgentVersions,
  fsyncDir,
  ManifestError,
  PRIVATE_DIR_MODE,
  readTextIfExists,
  type TrustedKey,
  verifyBundleDir,
  writeFileAtomic,
} from '@edgeloop/shared';

const run = promisify(execFile);
const SLOTS = ['slots/a', 'slots/b'] as const;
export type Slot = (typeof SLOTS)[number];

/** What the trial file says: the version on trial, where to go back to, and the slot on trial. */
export interface Trial {
  version: string;
  /** The `current` link target before the switch, or 'factory' when there was none. */
  previous: string;
  slot: string;
}

/** The last self-update's outcome (the launcher writes `reverted`, the agent `confirmed`). */
export interface UpdateResult {
  outcome: 'confirmed' | 'reverted';
  version: string;
  reason?: string;
  at: string;
}

export class AgentSlots {
  constructor(readonly root: string) {}

  private path(name: string): string {
    return join(this.root, name);
  }

  async ensure(): Promise<void> {
    await mkdir(this.path('slots'), { recursive: true, mode: PRIVATE_DIR_MODE });
  }

  /** The slot `current` points at, or null when the factory code runs. */
  async current(): Promise<string | null> {
    return readlink(this.path('current')).catch(() => null);
  }

  /** The slot a new bundle goes into: never the one running, nor the one a revert would return to. */
  async inactive(): Promise<Slot> {
    const current = await this.current();
    return current === SLOTS[0] ? SLOTS[1] : SLOTS[0];
  }

  /**
   * Unpacks a downloaded bundle into `slot` and checks it before anything points at it: the signed
   * bundle manifest against the device's trusted keys, every file's sha256, and that it is the
   * version and architecture asked for. A cut leaves only a `.tmp` folder, removed next time.
   */
  async stage(
    tarball: string,
    slot: Slot,
    expect: { version: string; arch: AgentArch; trustedKeys: readonly TrustedKey[] },
  ): Promise<void> {
    await this.ensure();
    const temp = this.path(`${slot}.tmp`);
    await rm(temp, { recursive: true, force: true });
    await mkdir(temp, { mode: PRIVATE_DIR_MODE });
    // The bundle's one top folder (edgeloop-agent-<version>-linux-<arch>/) becomes the slot.
    await run('tar', ['-xzf', tarball, '-C', temp, '--strip-components=1', '--no-same-owner']);
    const manifest = await verifyBundleDir(temp, expect.trustedKeys);
    if (manifest.agentVersion !== expect.version)
      throw new ManifestError(
        'VALIDATION_FAILED',
        `bundle holds agent ${manifest.agentVersion}, ${expect.version} was asked for`,
      );
    if (manifest.arch !== expect.arch)
      throw new ChecksumError(`bundle is for ${manifest.arch}, this device is ${expect.arch}`);
    // syncfs: every unpacked file is on disk before a pointer can name the slot.
    await run('sync', ['-f', temp]);
    await rm(this.path(slot), { recursive: true, force: true });
    await rename(temp, this.path(slot));
    await fsyncDir(this.path('slots'));
  }

  /**
   * Makes `slot` the code the launcher runs next, on trial: trial file first (the launcher ignores
   * a trial whose slot `current` does not point at yet), then the pointer, swapped by rename.
   */
  async switchTo(slot: Slot, version: string): Promise<void> {
    const previous = (await this.current()) ?? 'factory';
    await rm(this.path('boots'), { force: true });
    await writeFileAtomic(this.path('trial'), `${version}\n${previous}\n${slot}\n`);
    const next = this.path('current.new');
    await rm(next, { force: true });
    await symlink(slot, next);
    await rename(next, this.path('current'));
    await fsyncDir(this.root);
  }

  async trial(): Promise<Trial | null> {
    const text = await readTextIfExists(this.path('trial'));
    if (text === null) return null;
    const [version, previous, slot] = text.split('\n');
    return version && previous && slot ? { version, previous, slot } : null;
  }

  /** The running trial proved healthy: it stays, and no version below it is taken without a rollback. */
  async confirm(version: string): Promise<void> {
    await this.raiseFloor(version);
    await this.writeResult({ outcome: 'confirmed', version, at: new Date().toISOString() });
    await rm(this.path('boots'), { force: true });
    await rm(this.path('trial'), { force: true });
    await fsyncDir(this.root);
  }

  async result(): Promise<UpdateResult | null> {
    const text = await readTextIfExists(this.path('result'));
    if (text === null) return null;
    try {
      return JSON.parse(text) as UpdateResult;
    } catch {
      return null;
    }
  }

  private writeResult(result: UpdateResult): Promise<void> {
    return writeFileAtomic(this.path('result'), `${JSON.stringify(result)}\n`);
  }

  /** The highest agent version confirmed on this device (anti-rollback), or null. */
  async floor(): Promise<string | null> {
    return ((await readTextIfExists(this.path('floor'))) ?? '').trim() || null;
  }

  async raiseFloor(version: string): Promise<void> {
    const floor = await this.floor();
    if (floor === null || compareAgentVersions(version, floor) > 0)
      await writeFileAtomic(this.path('floor'), `${version}\n`);
  }
}
