/**
 * Writes a folder-per-class dataset of procedurally drawn scenes (see shared synthetic scenes):
 * what the demo and tests train on, so neither needs downloaded data.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SYNTHETIC_CLASSES, syntheticScene } from '@edgeloop/shared';
import { encodeRaw } from './image-decoder.ts';

export interface SyntheticDatasetOptions {
  /** Images per class in train/ (validation/ gets a quarter of that). */
  perClass: number;
  width: number;
  height: number;
  difficulty: number;
  seed: number;
  classes?: readonly string[];
}

export async function generateSyntheticDataset(
  dir: string,
  options: SyntheticDatasetOptions,
): Promise<{ images: number }> {
  const classes = options.classes ?? SYNTHETIC_CLASSES;
  const want = { train: options.perClass, validation: Math.max(2, Math.round(options.perClass / 4)) };
  let images = 0;
  for (const [split, perClass] of Object.entries(want)) {
    const counts = new Map(classes.map((c) => [c, 0]));
    for (const c of classes) await mkdir(join(dir, split, c), { recursive: true });
    // Scenes pick their own class; draw until every class has its share.
    const seed = options.seed + (split === 'train' ? 0 : 1_000_003);
    for (let index = 0; [...counts.values()].some((n) => n < perClass); index++) {
      const scene = syntheticScene(seed, index, { ...options, classes });
      const n = counts.get(scene.label)!;
      if (n >= perClass) continue;
      counts.set(scene.label, n + 1);
      const png = await encodeRaw(scene, 'png');
      await writeFile(join(dir, split, scene.label, `${String(index).padStart(5, '0')}.png`), png);
      images++;
    }
  }
  return { images };
}
