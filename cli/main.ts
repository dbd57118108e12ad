/**
 * The `edgeloop` command. Each program's commands load lazily, so a device that installed only the
 * agent workspace never loads the trainer's or control plane's dependencies.
 */
import { EdgeloopError } from '@edgeloop/shared';

type Command = { summary: string; run: (argv: string[]) => Promise<number> };

const commands: Record<string, Command> = {
  'control-plane': {
    summary: 'run the control plane: HTTP API, MQTT broker, model registry',
    run: async (argv) => (await import('@edgeloop/control-plane')).controlPlaneCommand(argv),
  },
  'hash-password': {
    summary: 'hash a dashboard password read from stdin (for the control plane users config)',
    run: async (argv) => (await import('@edgeloop/control-plane')).hashPasswordCommand(argv),
  },
  agent: {
    summary: 'run the device agent: camera → classifier → MQTT, model updates, samples',
    run: async (argv) => (await import('@edgeloop/agent')).agentCommand(argv),
  },
  train: {
    summary: 'train a MobileNet on a folder of labelled images and export it to ONNX',
    run: async (argv) => (await import('@edgeloop/trainer')).trainCommand(argv),
  },
  predict: {
    summary: 'classify image files with a trained model folder',
    run: async (argv) => (await import('@edgeloop/trainer')).predictCommand(argv),
  },
  publish: {
    summary: 'upload a trained model folder to the control plane as a new version',
    run: async (argv) => (await import('@edgeloop/trainer')).publishCommand(argv),
  },
  rollout: {
    summary: 'staged, health-gated model rollouts: create | status | pause | resume | abort | rollback',
    run: async (argv) => (await import('@edgeloop/control-plane')).rolloutCommand(argv),
  },
  dataset: {
    summary: 'import images into datasets, snapshot dataset versions, export one for training',
    run: async (argv) => (await import('./loop/dataset-command.ts')).datasetCommand(argv),
  },
  label: {
    summary: 'labelling queue: list, confirm (bulk), correct, none of the classes, skip',
    run: async (argv) => (await import('./loop/label-command.ts')).labelCommand(argv),
  },
  model: {
    summary: 'model registry: aliases, compare two versions, promote a candidate',
    run: async (argv) => (await import('./loop/model-command.ts')).modelCommand(argv),
  },
  pipeline: {
    summary: 'retraining pipeline: run (by hand), runs (history), show, cancel',
    run: async (argv) => (await import('./loop/pipeline-command.ts')).pipelineCommand(argv),
  },
  quantize: {
    summary: 'quantize an fp32 ONNX classifier to int8 (QDQ) with calibration images',
    run: async (argv) => (await import('@edgeloop/trainer')).quantizeCommand(argv),
  },
  evaluate: {
    summary: 'score an ONNX classifier on a folder-per-class dataset (accuracy, F1, latency)',
    run: async (argv) => (await import('@edgeloop/trainer')).evaluateCommand(argv),
  },
  'import-model': {
    summary: 'register an external ONNX classifier (labels + input spec) as a model version',
    run: async (argv) => (await import('@edgeloop/trainer')).importModelCommand(argv),
  },
  bench: {
    summary: 'run a benchmark from bench/ and print its figures (bench <name> --json)',
    run: async (argv) => (await import('./bench-command.ts')).benchCommand(argv),
  },
  demo: {
    summary: 'run the whole loop on this machine: train → roll out → collect → label → retrain',
    run: async (argv) => (await import('./demo/demo-command.ts')).demoCommand(argv),
  },
};

function help(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  return [
    'Usage: edgeloop <command> [options]',
    '',
    'Commands:',
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    "Run `edgeloop <command> --help` for a command's options.",
    '',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`edgeloop: unknown command '${name}'\n\n${help()}`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof EdgeloopError) {
      process.stderr.write(`edgeloop ${name}: ${err.message} [${err.code}]\n`);
      return err.code === 'VALIDATION_FAILED' || err.code === 'CONFIG_INVALID' ? 2 : 1;
    }
    if (err instanceof TypeError && (err as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      process.stderr.write(`edgeloop ${name}: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`edgeloop ${name}: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}
