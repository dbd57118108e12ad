/**
 * Calibration images: every image file under a folder (class folders or flat), decoded to the
 * model's input size. A folder that is missing, unreadable, empty, or holds nothing decodable is a
 * clear error — quantizing without real images would silently produce a broken model.
 */
import { readdir } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { EdgeloopError } from '@edgeloop/shared';
import { IMAGE_EXTENSIONS } from '../data/dataset.ts';
import { decodeResized } from '../data/image-decoder.ts';

export async function listImages(dir: string): Promise<string[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch (err) {
    throw new EdgeloopError(
      'DATASET_INVALID',
      `cannot read calibration folder ${dir}: ${(err as Error).message}`,
    );
  }
  return entries
    .filter((e) => e.isFile() && IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase()))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** Up to `max` images spread evenly over the sorted file list (so every class folder contributes). */
export async function loadCalibrationImages(
  dir: string,
  size: { width: number; height: number },
  max = 128,
): Promise<{ images: Uint8Array[]; skipped: string[] }> {
  const files = await listImages(dir);
  if (files.length === 0) {
    throw new EdgeloopError(
      'DATASET_INVALID',
      `calibration folder ${dir} has no images (.jpg, .jpeg, .png, .webp)`,
    );
  }
  const picked = evenlySpaced(files, max);
  const images: Uint8Array[] = [];
  const skipped: string[] = [];
  for (const file of picked) {
    try {
      images.push((await decodeResized(file, size)).data);
    } catch {
      skipped.push(file);
    }
  }
  if (images.length === 0) {
    throw new EdgeloopError(
      'DATASET_INVALID',
      `none of the ${picked.length} calibration images in ${dir} could be decoded`,
    );
  }
  return { images, skipped };
}

/**
 * Up to `max` of `items` at an even stride over the whole list: the calibration pick of `quantize`
 * (sorted files) and of `train` (its seeded training split), so every class contributes.
 */
export function evenlySpaced<T>(items: readonly T[], max: number): T[] {
  const stride = Math.max(1, items.length / max);
  const picked: T[] = [];
  for (let i = 0; i < items.length && picked.length < max; i += stride) picked.push(items[Math.floor(i)]);
  return picked;
}
