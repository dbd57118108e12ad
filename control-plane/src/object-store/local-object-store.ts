/**
 * ObjectStore on the local file system. Writes are atomic: a temp file in the same directory is
 * written, fsynced and renamed over the key, then the directory is fsynced so the rename survives
 * a crash. Readers therefore see either the old bytes or the new ones, never a torn file.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { NotFoundError, ValidationError } from '@edgeloop/shared';
import { isValidObjectKey, type ObjectStore } from './object-store.ts';

export function createLocalObjectStore(root: string): ObjectStore {
  const base = resolve(root);

  function pathOf(key: string): string {
    if (!isValidObjectKey(key)) throw new ValidationError(`invalid object key '${key}'`);
    const full = resolve(base, ...key.split('/'));
    // Belt and braces: the key pattern already excludes traversal.
    const rel = relative(base, full);
    if (rel.startsWith('..') || rel.includes(`..${sep}`))
      throw new ValidationError(`invalid object key '${key}'`);
    return full;
  }

  async function fsyncDir(dir: string): Promise<void> {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  return {
    async put(key, bytes) {
      const target = pathOf(key);
      const dir = dirname(target);
      await mkdir(dir, { recursive: true });
      const temp = join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
      const handle = await open(temp, 'wx', 0o600);
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } catch (err) {
        await handle.close();
        await rm(temp, { force: true });
        throw err;
      }
      await handle.close();
      try {
        await rename(temp, target);
      } catch (err) {
        await rm(temp, { force: true });
        throw err;
      }
      await fsyncDir(dir);
    },

    async get(key) {
      try {
        return new Uint8Array(await readFile(pathOf(key)));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT')
          throw new NotFoundError(`object '${key}' not found`);
        throw err;
      }
    },

    async has(key) {
      try {
        return (await stat(pathOf(key))).isFile();
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw err;
      }
    },

    async delete(key) {
      await rm(pathOf(key), { force: true });
    },
  };
}
