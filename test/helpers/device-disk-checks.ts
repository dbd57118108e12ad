/**
 * What a power cut may leave on a device's disk, read the way the launcher and the agent read it
 * at their next start: which agent code the launcher will run (the `current` link's slot, verified
 * like a bundle is verified before a pointer may name it, or the factory code), and which model the
 * agent will load (the model pointer's slot, signature and every file hash checked).
 */
import { readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelStore } from '@edgeloop/agent';
import { type TrustedKey, verifyBundleDir } from '@edgeloop/shared';

export interface AgentCodeOnDisk {
  /** The `current` link's target ('slots/a' or 'slots/b'), or null: the factory code runs. */
  link: string | null;
  /** The version that code states in its signed, verified bundle manifest. */
  version: string;
  /** The version on trial (trial file line 1) when the launcher will start a trial of `link`. */
  trial: string | null;
}

/**
 * The agent code the launcher starts next. Throws when `current` names a slot that is not a
 * complete bundle signed by `trustedKeys` with every file's sha256 matching: the one thing a cut
 * must never leave.
 */
export async function agentCodeOnDisk(
  dataDir: string,
  factory: { version: string },
  trustedKeys: readonly TrustedKey[],
): Promise<AgentCodeOnDisk> {
  const dir = join(dataDir, 'agent');
  const link = await readlink(join(dir, 'current')).catch(() => null);
  const trialText = await readFile(join(dir, 'trial'), 'utf8').catch(() => null);
  const [trialVersion, , trialSlot] = trialText?.split('\n') ?? [];
  // The launcher drops a trial whose slot `current` does not name yet (cut before the switch).
  const trial = link !== null && trialSlot === link ? trialVersion : null;
  if (link === null) return { link, version: factory.version, trial };
  if (link !== 'slots/a' && link !== 'slots/b') throw new Error(`current names ${link}, not a slot`);
  const manifest = await verifyBundleDir(join(dir, link), trustedKeys);
  return { link, version: manifest.agentVersion, trial };
}

/** The model the agent loads next: its version, after checking the slot the pointer names. */
export async function verifiedModelOnDisk(
  dataDir: string,
  trustedKeys: readonly TrustedKey[],
): Promise<{ modelVersion: number; sha256: string }> {
  const store = new ModelStore(dataDir);
  const pointer = await store.readPointer();
  if (!pointer) throw new Error('no model pointer');
  const manifest = await store.readSlot(pointer.slot, trustedKeys, true);
  if (manifest?.modelVersion !== pointer.modelVersion)
    throw new Error(`model slot ${pointer.slot} does not verify as version ${pointer.modelVersion}`);
  return { modelVersion: manifest.modelVersion, sha256: manifest.files[0].sha256 };
}
