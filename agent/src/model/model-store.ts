/**
 * On-disk layout of installed models:
 *
 *   dataDir/models/<version>.partial/   a download in progress (resumable)
 *   dataDir/models/<version>/           a complete, verified version with its signed manifest
 *   dataDir/active.json                 which version to load at start (ActiveModelRecord)
 */

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ActiveModelRecordSchema,
  ChecksumError,
  fsyncDir,
  type Manifest,
  type ManifestFile,
  PROTOCOL_VERSION,
  parseJsonWith,
  type TrustedKey,
  verifyManifest,
  writeFileAtomic,
} from '@edgeloop/shared';

/** Artifact names start with a letter or digit, so this name never collides with a model file. */
const MANIFEST_FILE = '.manifest.json';

export async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

export class ModelStore {
  readonly modelsDir: string;

  constructor(readonly dataDir: string) {
    this.modelsDir = join(dataDir, 'models');
  }

  versionDir(version: number): string {
    return join(this.modelsDir, String(version));
  }

  partialDir(version: number): string {
    return join(this.modelsDir, `${version}.partial`);
  }

  modelFilePath(version: number, manifest: Manifest): string {
    const file = manifest.files.find((f) => f.role === 'model');
    if (!file) throw new ChecksumError(`manifest of version ${version} lists no model file`);
    return join(this.versionDir(version), file.name);
  }

  async preparePartial(version: number): Promise<string> {
    const dir = this.partialDir(version);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  /** Moves a fully downloaded partial folder into place, with its manifest; replaces a stale copy. */
  async commit(version: number, manifest: Manifest): Promise<string> {
    const partial = this.partialDir(version);
    await writeFileAtomic(join(partial, MANIFEST_FILE), JSON.stringify(manifest));
    const final = this.versionDir(version);
    await rm(final, { recursive: true, force: true });
    await rename(partial, final);
    await fsyncDir(this.modelsDir);
    return final;
  }

  /** True when the version's folder holds every manifest file with the right length and sha256. */
  async isComplete(version: number, manifest: Manifest): Promise<boolean> {
    const dir = this.versionDir(version);
    if (!(await exists(dir))) return false;
    try {
      await verifyFiles(dir, manifest.files);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * The installed manifest of a version, re-verified: signature and trusted key are checked again
   * (a file on disk is a boundary too), expiry is not — it guards downloads, not a model already
   * accepted while it was valid.
   */
  async readInstalledManifest(version: number, trustedKeys: readonly TrustedKey[]): Promise<Manifest> {
    const data: unknown = JSON.parse(await readFile(join(this.versionDir(version), MANIFEST_FILE), 'utf8'));
    const createdAt = (data as { createdAt?: unknown } | null)?.createdAt;
    return verifyManifest(data, {
      trustedKeys,
      now: new Date(typeof createdAt === 'string' ? createdAt : 0),
    });
  }

  async readActive(): Promise<number | null> {
    let text: string;
    try {
      text = await readFile(join(this.dataDir, 'active.json'), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    return parseJsonWith(ActiveModelRecordSchema, text, 'active.json').modelVersion;
  }

  async writeActive(version: number): Promise<void> {
    const record = {
      protocol: PROTOCOL_VERSION,
      modelVersion: version,
      activatedAt: new Date().toISOString(),
    };
    await writeFileAtomic(join(this.dataDir, 'active.json'), `${JSON.stringify(record)}\n`);
  }

  /** Removes every version folder except `keep`, and abandoned partial downloads of other versions. */
  async prune(keep: readonly number[]): Promise<string[]> {
    const names = await readdir(this.modelsDir).catch(() => [] as string[]);
    const keepNames = new Set(keep.flatMap((v) => [String(v), `${v}.partial`]));
    const removed = names.filter((n) => /^\d+(\.partial)?$/.test(n) && !keepNames.has(n));
    for (const name of removed) await rm(join(this.modelsDir, name), { recursive: true, force: true });
    return removed;
  }
}

export async function verifyFiles(dir: string, files: readonly ManifestFile[]): Promise<void> {
  for (const file of files) {
    const path = join(dir, file.name);
    const info = await stat(path);
    if (info.size !== file.bytes) {
      throw new ChecksumError(`${file.name} is ${info.size} bytes, manifest says ${file.bytes}`);
    }
    const digest = await fileSha256(path);
    if (digest !== file.sha256)
      throw new ChecksumError(`${file.name} has sha256 ${digest}, manifest says ${file.sha256}`);
  }
}
