/**
 * Crash-safe file writes: write a temp file beside the target, fsync it, rename it over the target
 * and fsync the folder, so a power cut leaves either the old or the new content, never a torn file.
 * Files are private by default (0600, owner only): what edgeloop writes (keys, credentials,
 * samples, manifests, queues) is nobody else's to read.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, rmSync, writeSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export const TEMP_SUFFIX = '.tmp';
/** Owner read/write: the mode of every file edgeloop writes. */
export const PRIVATE_FILE_MODE = 0o600;
/** Owner only: the mode of every folder edgeloop makes for its data. */
export const PRIVATE_DIR_MODE = 0o700;

export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`);
}

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: { mode?: number } = {},
): Promise<void> {
  const temp = tempPathFor(path);
  const handle = await open(temp, 'wx', options.mode ?? PRIVATE_FILE_MODE);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await fsyncDir(dirname(path));
}

/**
 * Creates `path` with `data`, atomically and only if it does not exist yet (for keys made on first
 * start): the content is written and fsynced under a temp name, then hard-linked to `path`, which
 * fails with EEXIST when another process got there first, so no reader ever sees a half-written
 * key and two starters never both write one.
 */
export function createFileAtomicSync(path: string, data: string, mode = PRIVATE_FILE_MODE): void {
  const temp = tempPathFor(path);
  const fd = openSync(temp, 'wx', mode);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temp, path);
  } finally {
    rmSync(temp, { force: true });
  }
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
