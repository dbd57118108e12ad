/**
 * Resume state of a run, written after every epoch into <outDir>/resume/: the last epoch's weights
 * (a tfjs checkpoint beside this file) and state.json with the run's options and fit state. The best
 * weights so far are <outDir>/checkpoint/. `--resume DIR` continues with the same options and seed;
 * every random choice is derived from (seed, epoch, step), so the continued epochs draw the same
 * shuffles, augmentations and dropout masks an uninterrupted run would have. Adam's moment
 * estimates are not saved: the first resumed steps differ slightly from an uninterrupted run.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EdgeloopError, writeFileAtomic } from '@edgeloop/shared';
import type { FitState } from './fit.ts';

export interface RunState {
  /** The TrainOptions of the run without logger and callbacks. */
  options: Record<string, unknown>;
  state: FitState;
}

const statePath = (dir: string) => join(dir, 'resume', 'state.json');

export async function writeRunState(dir: string, run: RunState): Promise<void> {
  await writeFileAtomic(statePath(dir), `${JSON.stringify(run, null, 2)}\n`);
}

export async function readRunState(dir: string): Promise<RunState> {
  let run: RunState;
  try {
    run = JSON.parse(await readFile(statePath(dir), 'utf8')) as RunState;
  } catch (err) {
    throw new EdgeloopError(
      'VALIDATION_FAILED',
      `--resume ${dir}: no resumable run there (${statePath(dir)}: ${(err as Error).message})`,
    );
  }
  if (!run.options || !run.state || !Array.isArray(run.state.history)) {
    throw new EdgeloopError('VALIDATION_FAILED', `--resume ${dir}: ${statePath(dir)} is not a run state`);
  }
  // JSON has no Infinity: a run with no best epoch yet stores null.
  run.state.bestValLoss ??= Number.POSITIVE_INFINITY;
  return run;
}
