/**
 * "Try a model": classify one uploaded image with any registered version. The control plane does
 * not load an inference runtime itself; like the pipeline's evaluate step it runs the configured
 * predict command (`edgeloop predict --model DIR --json`) on a model folder materialised from the
 * object store (cached per version: versions are immutable) and the image in a temp file.
 */
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EdgeloopError, type PipelineConfig, PredictOutputSchema, parseJsonWith } from '@edgeloop/shared';
import { modelFileKey } from '../models/model-registry.ts';
import type { ObjectStore } from '../object-store/object-store.ts';
import { runCommand } from '../pipeline/run-command.ts';
import type { Store } from '../store/store.ts';

const TIMEOUT_MS = 120_000;

export interface TryResult {
  modelVersion: number;
  topK: { label: string; confidence: number }[];
  elapsedMs: number;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Writes the version's files and manifest once; a half-written folder is never reused. */
async function modelDir(deps: { store: Store; objects: ObjectStore; cacheDir: string }, version: number) {
  const record = await deps.store.models.get(version);
  if (!record) throw new EdgeloopError('NOT_FOUND', `model version ${version} not found`);
  const dir = join(deps.cacheDir, String(version));
  if (await exists(join(dir, '.complete'))) return dir;
  await mkdir(dir, { recursive: true });
  for (const file of record.manifest.files) {
    await writeFile(join(dir, file.name), await deps.objects.get(modelFileKey(version, file.name)));
  }
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(record.manifest));
  await writeFile(join(dir, '.complete'), '');
  return dir;
}

export async function tryModel(
  deps: { store: Store; objects: ObjectStore; cacheDir: string; pipeline: PipelineConfig },
  request: { modelVersion: number; image: Uint8Array; topK: number },
): Promise<TryResult> {
  const started = performance.now();
  const dir = await modelDir(deps, request.modelVersion);
  const work = await mkdtemp(join(tmpdir(), 'edgeloop-try-'));
  try {
    const image = join(work, 'image');
    await writeFile(image, request.image);
    const output: string[] = [];
    const { stdout } = await runCommand(
      [...deps.pipeline.predictCommand, '--model', dir, '--json', '--top-k', String(request.topK), image],
      {
        signal: AbortSignal.timeout(TIMEOUT_MS),
        timeoutMs: TIMEOUT_MS,
        onOutput: (text) => output.push(text),
        captureStdout: true,
      },
    ).catch((err: unknown) => {
      const tail = output.join('').slice(-2000);
      throw new EdgeloopError('VALIDATION_FAILED', `the model could not classify this image: ${tail}`, {
        cause: err,
      });
    });
    const [result] = parseJsonWith(PredictOutputSchema, stdout, 'predict output');
    if (!result) throw new EdgeloopError('INTERNAL', 'predict printed no result');
    return {
      modelVersion: request.modelVersion,
      topK: result.topK,
      elapsedMs: Math.round(performance.now() - started),
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
