/**
 * `train --budget`: candidates run within the budget, the best by validation accuracy becomes the
 * output folder, every candidate (run or skipped) is in metrics.json's `search`.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSyntheticDataset } from '../../../trainer/src/data/synthetic-dataset.ts';
import { formatSearch, searchRecipes } from '../../../trainer/src/train/search.ts';
import { type TrainOptions, train } from '../../../trainer/src/train/train.ts';

const work = mkdtempSync(join(tmpdir(), 'edgeloop-search-'));
const dataDir = join(work, 'shapes');

beforeAll(async () => {
  await generateSyntheticDataset(dataDir, { perClass: 12, width: 40, height: 40, difficulty: 0.1, seed: 2 });
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

const options = (outDir: string): TrainOptions => ({
  dataDir,
  outDir,
  name: 'shapes',
  inputSize: 32,
  batchSize: 16,
  seed: 4,
  augment: false,
  logger: createLogger({ level: 'silent', name: 'test' }),
});

describe('recipe search', () => {
  it('keeps the better candidate and reports both; a user-given setting stays fixed', async () => {
    const outDir = join(work, 'both');
    const metrics = await searchRecipes(options(outDir), 3600, train, [
      { name: 'one-epoch', overrides: { epochs: 1, learningRate: 1e-6 } },
      { name: 'six-epochs', overrides: { epochs: 6, learningRate: 0.01 } },
      // inputSize was given: this candidate would change nothing else, so it is not run twice.
      { name: 'bigger', overrides: { inputSize: 64, epochs: 6, learningRate: 0.01 } },
      // Tried on top of the better of the two: its epochs and learning rate stay.
      { name: 'more-dropout', overrides: { dropout: 0.3 } },
    ]);
    const search = metrics.search!;
    expect(search.candidates.map((c) => c.name)).toEqual(['one-epoch', 'six-epochs', 'more-dropout']);
    // The rule: best validation accuracy, then lower validation loss, then the earlier candidate.
    const [a, b] = search.candidates;
    const bWins =
      b.valAccuracy! > a.valAccuracy! || (b.valAccuracy === a.valAccuracy && b.valLoss! < a.valLoss!);
    const better = bWins ? b : a;
    expect(search.candidates[2].values).toMatchObject({
      epochs: better.values.epochs,
      learningRate: better.values.learningRate,
      dropout: 0.3,
    });
    const c = search.candidates[2];
    const cWins =
      c.valAccuracy! > better.valAccuracy! ||
      (c.valAccuracy === better.valAccuracy && c.valLoss! < better.valLoss!);
    const winner = cWins ? 'more-dropout' : bWins ? 'six-epochs' : 'one-epoch';
    expect(search.winner).toBe(winner);
    const written = JSON.parse(readFileSync(join(outDir, 'metrics.json'), 'utf8'));
    expect(written.search.winner).toBe(winner);
    // The winner's own folder became the output folder.
    const won = cWins ? c : better;
    expect(written.epochsRun).toBe(won.values.epochs);
    expect(written.onnxValAccuracy).toBe(won.valAccuracy);
    expect(written.architecture.inputSize).toBe(32);
    expect(existsSync(join(outDir, 'model.onnx'))).toBe(true);
    expect(existsSync(join(outDir, '.search'))).toBe(false);
    expect(formatSearch(search)).toContain(`${winner} *`);
  }, 600_000);

  it('always trains the first candidate and skips what would not fit the budget', async () => {
    const metrics = await searchRecipes(options(join(work, 'tight')), 0.001, train, [
      { name: 'first', overrides: { epochs: 1 } },
      { name: 'second', overrides: { epochs: 2 } },
    ]);
    expect(metrics.search?.winner).toBe('first');
    expect(metrics.search?.candidates[1]).toMatchObject({ name: 'second', valAccuracy: null });
    expect(metrics.search?.candidates[1].skipped).toMatch(/budget/);
  }, 600_000);
});
