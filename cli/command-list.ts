/**
 * Every `edgeloop` command, in the order `edgeloop --help` and the reference list them. Loading
 * this list is cheap: command files import program packages (trainer, control plane, agent)
 * only inside `run`, so a device that installed only the agent never loads the trainer's deps.
 */
import { agentCommand } from './commands/agent.ts';
import { benchCommand } from './commands/bench.ts';
import { bundleCommand } from './commands/bundle.ts';
import { configCommand } from './commands/config.ts';
import { controlPlaneCommand } from './commands/control-plane.ts';
import { datasetCommand } from './commands/dataset.ts';
import { demoCommand } from './commands/demo.ts';
import { deviceCommand } from './commands/device.ts';
import { evaluateCommand } from './commands/evaluate.ts';
import { hashPasswordCommand } from './commands/hash-password.ts';
import { healthCommand } from './commands/health.ts';
import { importModelCommand } from './commands/import-model.ts';
import { labelCommand } from './commands/label.ts';
import { modelCommand } from './commands/model.ts';
import { pipelineCommand } from './commands/pipeline.ts';
import { predictCommand } from './commands/predict.ts';
import { publishCommand } from './commands/publish.ts';
import { quantizeCommand } from './commands/quantize.ts';
import { rolloutCommand } from './commands/rollout.ts';
import { trainCommand } from './commands/train.ts';
import type { CommandDef } from './options/option-types.ts';

export const COMMANDS: readonly CommandDef[] = [
  controlPlaneCommand,
  hashPasswordCommand,
  agentCommand,
  bundleCommand,
  healthCommand,
  trainCommand,
  predictCommand,
  publishCommand,
  rolloutCommand,
  deviceCommand,
  configCommand,
  datasetCommand,
  labelCommand,
  modelCommand,
  pipelineCommand,
  quantizeCommand,
  evaluateCommand,
  importModelCommand,
  benchCommand,
  demoCommand,
];
