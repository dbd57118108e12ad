/**
 * Folder-per-class datasets. Either `train/` (+ optional `validation/`) with one folder per class
 * inside, or class folders directly, split stratified by a seeded shuffle. Files that are not
 * images, or do not decode, are skipped and reported — never a crash. Images with identical bytes
 * are kept once, so a duplicate cannot land on both sides of a split.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { createRng, EdgeloopError } from '@edgeloop/shared';

export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp']);

export interface DatasetItem {
  path: string;
  label: string;
  sha256: string;
  /** 'dataset', or 'field-sample' for images from the `extraTrain` folders. */
  source: 'dataset' | 'field-sample';
  /** For field samples: the control plane's sample id, which is the file's base name. */
  sampleId: string | null;
}

export interface DatasetSplits {
  labels: string[];
  train: DatasetItem[];
  validation: DatasetItem[];
  skipped: { path: string; reason: string }[];
  duplicates: number;
}

async function isDir(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isDirectory() ?? false;
}

async function classFolders(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}

interface ScanState {
  seen: Set<string>;
  skipped: { path: string; reason: string }[];
  duplicates: number;
}

async function scanClassFolders(
  root: string,
  state: ScanState,
  source: DatasetItem['source'] = 'dataset',
): Promise<DatasetItem[]> {
  const items: DatasetItem[] = [];
  for (const label of await classFolders(root)) {
    const files = (await readdir(join(root, label), { withFileTypes: true })).filter((f) => f.isFile());
    for (const file of files.map((f) => f.name).sort()) {
      const path = join(root, label, file);
      if (!IMAGE_EXTENSIONS.has(extname(file).toLowerCase())) {
        state.skipped.push({ path, reason: 'not an image file (extension)' });
        continue;
      }
      const bytes = await readFile(path);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      if (state.seen.has(sha256)) {
        state.duplicates++;
        continue;
      }
      state.seen.add(sha256);
      items.push({
        path,
        label,
        sha256,
        source,
        sampleId: source === 'field-sample' ? basename(file, extname(file)) : null,
      });
    }
  }
  return items;
}

/** Stratified split: each class contributes `fraction` of its items (at least one when it has 2+). */
export function stratifiedSplit<T extends { label: string }>(
  items: T[],
  fraction: number,
  seed: number,
): [T[], T[]] {
  const rng = createRng(seed);
  const byClass = new Map<string, T[]>();
  for (const item of items) byClass.set(item.label, [...(byClass.get(item.label) ?? []), item]);
  const kept: T[] = [];
  const held: T[] = [];
  for (const group of byClass.values()) {
    const shuffled = [...group];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
    }
    const n = shuffled.length >= 2 ? Math.max(1, Math.round(shuffled.length * fraction)) : 0;
    held.push(...shuffled.slice(0, n));
    kept.push(...shuffled.slice(n));
  }
  return [kept, held];
}

export async function readDataset(
  root: string,
  options: { validationFraction?: number; seed?: number; extraTrain?: string[] } = {},
): Promise<DatasetSplits> {
  if (!(await isDir(root))) throw new EdgeloopError('DATASET_INVALID', `dataset folder not found: ${root}`);
  const state: ScanState = { seen: new Set(), skipped: [], duplicates: 0 };
  let train: DatasetItem[];
  let validation: DatasetItem[];
  if (await isDir(join(root, 'train'))) {
    // Validation first, so an image present in both folders stays out of training.
    validation = (await isDir(join(root, 'validation')))
      ? await scanClassFolders(join(root, 'validation'), state)
      : [];
    train = await scanClassFolders(join(root, 'train'), state);
    if (validation.length === 0)
      [train, validation] = stratifiedSplit(train, options.validationFraction ?? 0.2, options.seed ?? 1);
  } else {
    [train, validation] = stratifiedSplit(
      await scanClassFolders(root, state),
      options.validationFraction ?? 0.2,
      options.seed ?? 1,
    );
  }
  const labels = [...new Set([...train, ...validation].map((i) => i.label))].sort();
  // Extra images join only classes the dataset has: a class seen only in field samples would have
  // no validation images and no studio examples.
  for (const extra of options.extraTrain ?? []) {
    if (!(await isDir(extra))) continue;
    for (const item of await scanClassFolders(extra, state, 'field-sample')) {
      if (labels.includes(item.label)) train.push(item);
      else state.skipped.push({ path: item.path, reason: `class '${item.label}' is not in the dataset` });
    }
  }
  if (labels.length < 2) {
    throw new EdgeloopError(
      'DATASET_INVALID',
      `dataset ${root} needs at least 2 class folders with images; found ${labels.length} (${labels.join(', ') || 'none'})`,
    );
  }
  return { labels, train, validation, skipped: state.skipped, duplicates: state.duplicates };
}
