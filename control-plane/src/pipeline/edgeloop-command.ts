/**
 * The pipeline's child processes are `edgeloop train` / `edgeloop predict`. They must run the
 * edgeloop that is installed here, never whatever `npx` would fetch from the registry when a name
 * does not resolve. A command whose first word is `edgeloop` (the default) runs the launcher of
 * this installation (`cli/edgeloop.mjs` beside this package, with the node that runs the control
 * plane), or the `edgeloop` on PATH when the control plane is installed without the CLI.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { PipelineConfig } from '@edgeloop/shared';

/** This installation's CLI launcher (control-plane/src → repo root → cli/edgeloop.mjs). */
export const EDGELOOP_LAUNCHER = resolve(import.meta.dirname, '../../../cli/edgeloop.mjs');

export function resolveEdgeloopCommand(argv: readonly string[], launcher = EDGELOOP_LAUNCHER): string[] {
  if (argv[0] !== 'edgeloop' || !existsSync(launcher)) return [...argv];
  return [process.execPath, launcher, ...argv.slice(1)];
}

export function withInstalledEdgeloop(config: PipelineConfig): PipelineConfig {
  return {
    ...config,
    trainCommand: resolveEdgeloopCommand(config.trainCommand),
    predictCommand: resolveEdgeloopCommand(config.predictCommand),
  };
}
