/**
 * Resume state of a run, written after every epoch into <outDir>/resume/: the last epoch's weights
 * (a tfjs checkpoint beside this file) and state.json with the run's options and fit state. The best
 * weights so far are <outDir>/checkpoint/. `--resume DIR` continues with the same options and seed;
 * every random choice is derived from (seed, epoch, step), so the continued epochs draw the same
 * shuffles, augmentations and dropout masks an uninterrupted run would have, and Adam's state
 * (optimizer.bin, described by `optimizer` in state.json) is restored: a resumed run ends with the
 * same weights and metrics as one that was never interrupted.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  EdgeloopError,
  MODEL_FOLDER,
  parseArtifactJson,
  type RunState,
  RunStateSchema,
  writeFileAtomic,
} from '@edgeloop/shared';
import type * as tfjs from '@tensorflow/tfjs';

export type { RunState } from '@edgeloop/shared';

const statePath = (dir: string) => join(dir, MODEL_FOLDER.resumeDir, 'state.json');

export async function writeRunState(
  tf: typeof tfjs,
  dir: string,
  run: Omit<RunState, 'optimizer'>,
  optimizer: tfjs.Optimizer,
): Promise<void> {
  const { data, specs } = await tf.io.encodeWeights(await optimizer.getWeights());
  await writeFileAtomic(join(dir, 'resume', 'optimizer.bin'), new Uint8Array(data as ArrayBuffer));
  await writeFileAtomic(statePath(dir), `${JSON.stringify({ ...run, optimizer: specs }, null, 2)}\n`);
}

/** Adam's saved state in the order the optimizer wrote it, or undefined for an older state file. */
export async function readOptimizerState(
  tf: typeof tfjs,
  dir: string,
  run: RunState,
): Promise<{ name: string; tensor: tfjs.Tensor }[] | undefined> {
  if (!run.optimizer) return undefined;
  const bytes = await readFile(join(dir, 'resume', 'optimizer.bin'));
  const map = tf.io.decodeWeights(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    run.optimizer as tfjs.io.WeightsManifestEntry[],
  );
  return run.optimizer.map((s) => ({ name: s.name, tensor: map[s.name] }));
}

/** The saved state of the run in `dir`; VALIDATION_FAILED naming the file and field if it is not one. */
export async function readRunState(dir: string): Promise<RunState> {
  let text: string;
  try {
    text = await readFile(statePath(dir), 'utf8');
  } catch (err) {
    throw new EdgeloopError(
      'VALIDATION_FAILED',
      `--resume ${dir}: no resumable run there (${statePath(dir)}: ${(err as Error).message})`,
    );
  }
  // bestValLoss null (JSON has no Infinity: no best epoch yet) comes back as Infinity.
  return parseArtifactJson(RunStateSchema, text, `--resume ${dir}: ${statePath(dir)}`, 'VALIDATION_FAILED');
}
