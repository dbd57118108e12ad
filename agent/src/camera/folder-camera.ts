/**
 * Frames from the image files of a folder (or a glob on the file name: /data/cam1-*.jpg), in name
 * order, optionally looping. Replays recorded footage through the same pipeline as a live camera.
 * The frame id is the file name.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { ConfigError } from '@edgeloop/shared';
import type { ImageMime } from '../image/image-codec.ts';
import type { Camera, Frame } from './camera.ts';
import { Pacer } from './pacer.ts';

const MIME_BY_EXT: Record<string, ImageMime> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
};

export interface FolderCameraOptions {
  path: string;
  fps: number;
  loop: boolean;
}

/** `*` and `?` in the last path segment make it a pattern; directories have none. */
export function splitGlob(path: string): { folder: string; match: (name: string) => boolean } {
  const last = basename(path);
  if (!/[*?]/.test(last)) return { folder: path, match: () => true };
  const escaped = last
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  const pattern = new RegExp(`^${escaped}$`);
  return { folder: dirname(path), match: (name) => pattern.test(name) };
}

export async function listImages(path: string): Promise<string[]> {
  const { folder, match } = splitGlob(path);
  let names: string[];
  try {
    names = await readdir(folder);
  } catch (err) {
    throw new ConfigError(`camera folder ${folder} cannot be read: ${(err as Error).message}`);
  }
  return names.filter((n) => match(n) && MIME_BY_EXT[extname(n).toLowerCase()] !== undefined).sort();
}

export class FolderCamera implements Camera {
  constructor(private readonly options: FolderCameraOptions) {}

  async *frames(signal: AbortSignal): AsyncIterable<Frame> {
    const pacer = new Pacer(this.options.fps);
    do {
      // Re-listed each pass, so files dropped into the folder join the next loop.
      const names = await listImages(this.options.path);
      if (names.length === 0)
        throw new ConfigError(`camera folder ${this.options.path} has no jpg/png/webp images`);
      const { folder } = splitGlob(this.options.path);
      for (const name of names) {
        if (!(await pacer.wait(signal))) return;
        const image = await readFile(join(folder, name));
        const mime = MIME_BY_EXT[extname(name).toLowerCase()];
        yield { frameId: name, capturedAt: new Date().toISOString(), image, mime };
      }
    } while (this.options.loop && !signal.aborted);
  }
}
