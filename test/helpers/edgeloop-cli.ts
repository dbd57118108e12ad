/** The `edgeloop` command as a child-process argv, for pipeline configs that run train/predict. */
import { resolve } from 'node:path';

const CLI = resolve(import.meta.dirname, '../../cli/edgeloop.mjs');

export function edgeloopArgv(command: string): string[] {
  return [process.execPath, CLI, command];
}
