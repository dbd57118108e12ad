/**
 * The files of an unpacked agent bundle: listing them with their hashes (to sign), and checking an
 * unpacked bundle against its signed manifest (nothing changed, missing or added). Used by
 * `edgeloop bundle`, by verify-bundle.mjs inside the bundle (install.sh runs it) and by the agent
 * before it switches to a self-update.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { BUNDLE_MANIFEST_FILE, verifyBundleManifest } from './bundle-manifest.ts';
import { ChecksumError, ManifestError } from './errors.ts';
import type { TrustedKey } from './manifest.ts';
import type { BundleFile, BundleManifest } from './schemas/bundle-manifest.ts';

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function walk(root: string, dir: string, out: string[]): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await walk(root, path, out);
    else if (entry.isFile()) out.push(relative(root, path).split(sep).join('/'));
    // npm leaves .bin symlinks; the agent runs no package binaries, so a bundle carries none.
    else if (!entry.isSymbolicLink())
      throw new ManifestError('VALIDATION_FAILED', `unsupported file ${path}`);
  }
}

/** Every regular file under `root` except the manifest, sorted, with size, sha256 and mode. */
export async function listBundleFiles(root: string): Promise<BundleFile[]> {
  const paths: string[] = [];
  await walk(root, root, paths);
  const files: BundleFile[] = [];
  for (const path of paths.filter((p) => p !== BUNDLE_MANIFEST_FILE).sort()) {
    const full = join(root, path);
    const info = await lstat(full);
    files.push({
      path,
      sha256: await sha256File(full),
      bytes: info.size,
      executable: (info.mode & 0o111) !== 0,
    });
  }
  return files;
}

/**
 * Checks an unpacked bundle: the manifest's signature (against `trustedKeys`, or against the key
 * the bundle names when none are given, which proves integrity but not origin), then every file.
 */
export async function verifyBundleDir(
  root: string,
  trustedKeys?: readonly TrustedKey[],
): Promise<BundleManifest> {
  const data: unknown = JSON.parse(await readFile(join(root, BUNDLE_MANIFEST_FILE), 'utf8'));
  const named = (data as { signer?: TrustedKey }).signer;
  const manifest = verifyBundleManifest(data, trustedKeys ?? (named ? [named] : []));
  const actual = new Map((await listBundleFiles(root)).map((f) => [f.path, f]));
  for (const file of manifest.files) {
    const found = actual.get(file.path);
    if (!found) throw new ChecksumError(`bundle file ${file.path} is missing`);
    if (found.sha256 !== file.sha256 || found.bytes !== file.bytes) {
      throw new ChecksumError(`bundle file ${file.path} does not match the manifest`);
    }
    actual.delete(file.path);
  }
  const extra = [...actual.keys()];
  if (extra.length > 0)
    throw new ChecksumError(`bundle has files its manifest does not list: ${extra.slice(0, 5).join(', ')}`);
  return manifest;
}
