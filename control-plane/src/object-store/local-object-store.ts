/**
 * ObjectStore on the local file system. Writes are atomic: a temp file in the same directory is
 * written, fsynced and renamed over the key, then the directory is fsynced so the rename survives
 * a crash. Readers therefore see either the old bytes or the new ones, never a torn file.
 */
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { NotFoundError, PRIVATE_DIR_MODE, ValidationError, writeFileAtomic } from '@edgeloop/shared';
import { isValidListPrefix, isValidObjectKey, type ObjectStore } from './object-store.ts';

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

  return {
    async put(key, bytes) {
      const target = pathOf(key);
      await mkdir(dirname(target), { recursive: true, mode: PRIVATE_DIR_MODE });
      await writeFileAtomic(target, bytes, { mode: 0o600 });
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

    async size(key) {
      try {
        return (await stat(pathOf(key))).size;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT')
          throw new NotFoundError(`object '${key}' not found`);
        throw err;
      }
    },

    async stream(key, range) {
      const path = pathOf(key);
      // Opened before answering, so a missing key is a NotFoundError rather than a broken stream.
      const file = createReadStream(path, range ? { start: range.start, end: range.end } : {});
      await new Promise<void>((resolve, reject) => {
        file.once('open', () => resolve());
        file.once('error', (err: NodeJS.ErrnoException) =>
          reject(err.code === 'ENOENT' ? new NotFoundError(`object '${key}' not found`) : err),
        );
      });
      return Readable.toWeb(file) as ReadableStream<Uint8Array>;
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

    async list(prefix) {
      if (!isValidListPrefix(prefix)) throw new ValidationError(`invalid list prefix '${prefix}'`);
      let entries: { name: string; parentPath: string; isFile(): boolean }[];
      try {
        entries = await readdir(base, { recursive: true, withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw err;
      }
      return (
        entries
          .filter((e) => e.isFile())
          .map((e) => relative(base, join(e.parentPath, e.name)).split(sep).join('/'))
          // Temp files of an unfinished atomic write are not objects.
          .filter((key) => key.startsWith(prefix) && isValidObjectKey(key))
          .sort()
      );
    },
  };
}
