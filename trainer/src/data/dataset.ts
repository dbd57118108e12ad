/**
 * Folder-per-class datasets. Either `train/` (+ optional `validation/`) with one folder per class
 * inside, or class folders directly, split stratified by a seeded shuffle. Files that are not
 * images, or do not decode, are skipped and reported — never a crash. Images with identical bytes
 * are kept once, so a duplicate cannot land on both sides of a split.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { CLASS_NAME_RULE, createRng, EdgeloopError, isClassName } from '@edgeloop/shared';

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
  test: DatasetItem[];
  skipped: { path: string; reason: string }[];
  duplicates: number;
  /** Each dropped duplicate and the kept file with the same content. */
  duplicateFiles: { path: string; sameAs: string }[];
}

async function isDir(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isDirectory() ?? false;
}

async function classFolders(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => {
      // The folder name becomes a class name in labels.json, the manifest and every prediction.
      if (!isClassName(e.name)) {
        throw new EdgeloopError(
          'DATASET_INVALID',
          `dataset ${root}: class folder '${e.name}' is not a class name (${CLASS_NAME_RULE})`,
        );
      }
      return e.name;
    })
    .sort();
}

interface ScanState {
  /** sha256 -> first path with that content. */
  seen: Map<string, string>;
  duplicateFiles: { path: string; sameAs: string }[];
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
    const files = (await readdir(join(root, label), { withFileTypes: true })).filter(
      (f) => f.isFile() || f.isSymbolicLink(),
    );
    for (const file of files.map((f) => f.name).sort()) {
      const path = join(root, label, file);
      if (!IMAGE_EXTENSIONS.has(extname(file).toLowerCase())) {
        state.skipped.push({ path, reason: 'not an image file (extension)' });
        continue;
      }
      const bytes = await readFile(path);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const first = state.seen.get(sha256);
      if (first !== undefined) {
        state.duplicates++;
        state.duplicateFiles.push({ path, sameAs: first });
        continue;
      }
      state.seen.set(sha256, path);
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

/** Fewer training images than this in a class is an error: nothing useful can be learned from them. */
export const MIN_TRAIN_PER_CLASS = 2;
/** A class that is split 80/10/10 needs this many images so each split gets at least one. */
export const MIN_PER_CLASS_TO_SPLIT = 5;

export interface ReadDatasetOptions {
  /** Fraction held out for validation (and again for test) when splitting one folder; default 0.1. */
  holdoutFraction?: number;
  seed?: number;
  extraTrain?: string[];
}

function countByLabel(items: DatasetItem[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const i of items) m.set(i.label, (m.get(i.label) ?? 0) + 1);
  return m;
}

function requireEnough(items: DatasetItem[], labels: string[], min: number, where: string): void {
  const counts = countByLabel(items);
  const short = labels.filter((l) => (counts.get(l) ?? 0) < min);
  if (short.length) {
    throw new EdgeloopError(
      'DATASET_INVALID',
      `${where}: class${short.length > 1 ? 'es' : ''} ${short.map((l) => `'${l}' (${counts.get(l) ?? 0})`).join(', ')} ha${short.length > 1 ? 've' : 's'} too few images; each class needs at least ${min}`,
    );
  }
}

/**
 * Reads DIR/train (+ validation/, test/) or DIR/<class> folders. Without validation/, the images are
 * split stratified 80/10/10 (train/validation/test) with the seed. Explicit folders are scanned
 * test, validation, train, so an image present in several keeps its held-out place.
 */
export async function readDataset(root: string, options: ReadDatasetOptions = {}): Promise<DatasetSplits> {
  if (!(await isDir(root))) throw new EdgeloopError('DATASET_INVALID', `dataset folder not found: ${root}`);
  const state: ScanState = { seen: new Map(), skipped: [], duplicates: 0, duplicateFiles: [] };
  const fraction = options.holdoutFraction ?? 0.1;
  const seed = options.seed ?? 1;
  const hasTrain = await isDir(join(root, 'train'));
  let test =
    hasTrain && (await isDir(join(root, 'test'))) ? await scanClassFolders(join(root, 'test'), state) : [];
  let validation =
    hasTrain && (await isDir(join(root, 'validation')))
      ? await scanClassFolders(join(root, 'validation'), state)
      : [];
  let train = await scanClassFolders(hasTrain ? join(root, 'train') : root, state);
  const labels = [...new Set([...train, ...validation, ...test].map((i) => i.label))].sort();
  if (labels.length < 2) {
    throw new EdgeloopError(
      'DATASET_INVALID',
      `dataset ${root} needs at least 2 class folders with images; found ${labels.length} (${labels.join(', ') || 'none'})`,
    );
  }
  if (validation.length === 0) {
    requireEnough(
      train,
      labels,
      MIN_PER_CLASS_TO_SPLIT,
      `dataset ${root} (split ${100 - 200 * fraction}/${100 * fraction}/${100 * fraction})`,
    );
    [train, validation] = stratifiedSplit(train, fraction, seed);
    if (test.length === 0) [train, test] = stratifiedSplit(train, fraction / (1 - fraction), seed + 1);
  }
  requireEnough(train, labels, MIN_TRAIN_PER_CLASS, `dataset ${root} (training split)`);
  // Extra images join only classes the dataset has: a class seen only in field samples would have
  // no validation images and no studio examples.
  for (const extra of options.extraTrain ?? []) {
    if (!(await isDir(extra))) continue;
    for (const item of await scanClassFolders(extra, state, 'field-sample')) {
      if (labels.includes(item.label)) train.push(item);
      else state.skipped.push({ path: item.path, reason: `class '${item.label}' is not in the dataset` });
    }
  }
  return {
    labels,
    train,
    validation,
    test,
    skipped: state.skipped,
    duplicates: state.duplicates,
    duplicateFiles: state.duplicateFiles,
  };
}
