/**
 * Reads and validates the JSON files of a model folder on disk (manifest.json, labels.json,
 * metrics.json): the one reader the trainer (publish, --init-from, quantize) and the control
 * plane's pipeline share. Model bytes are not read here.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EdgeloopError } from '../errors.ts';
import { MODEL_FOLDER, type ModelFolder, parseModelFolder } from './model-folder.ts';

/** The parsed JSON of `dir/file`; undefined when the file does not exist. */
async function readJson(dir: string, file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(join(dir, file), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new EdgeloopError('MODEL_INVALID', `${dir}: ${file}: cannot read it (${(err as Error).message})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new EdgeloopError('MODEL_INVALID', `${dir}: ${file}: not JSON (${(err as Error).message})`);
  }
}

/** Throws MODEL_INVALID naming the folder, the file and the field when anything does not validate. */
export async function readModelFolder(dir: string): Promise<ModelFolder> {
  const files: Record<string, unknown> = {};
  for (const file of [MODEL_FOLDER.manifest, MODEL_FOLDER.labels, MODEL_FOLDER.metrics]) {
    files[file] = await readJson(dir, file);
  }
  if (files[MODEL_FOLDER.manifest] === undefined) {
    throw new EdgeloopError(
      'MODEL_INVALID',
      `${dir}: ${MODEL_FOLDER.manifest}: missing (not a model folder)`,
    );
  }
  return parseModelFolder(files, dir);
}
