import { join } from 'node:path';
import { createLogger, EdgeloopError, ValidationError } from '@edgeloop/shared';
import type { TrainOptions } from '@edgeloop/trainer';
import { apiClient, CONNECTION_OPTIONS } from '../options/connection-options.ts';
import { formatHelp } from '../options/format-help.ts';
import { defineCommand, type OptionDefs, type ParsedArgs } from '../options/option-types.ts';
import { formatEceDetail } from '../output/ece-detail.ts';
import { formatTrainSummary, progressPrinter } from '../output/train-progress.ts';

/** Errors that mean "your data, base or flags are wrong": exit 2 like a usage error. */
const TRAIN_INPUT_ERRORS = new Set([
  'DATASET_INVALID',
  'MODEL_INVALID',
  'UPSTREAM_FAILED',
  'VALIDATION_FAILED',
]);

const options = {
  data: {
    type: 'string',
    value: 'DIR',
    description: 'dataset: DIR/train/<class>/*.jpg (+ DIR/validation/…), or DIR/<class>/*.jpg',
  },
  out: {
    type: 'string',
    value: 'DIR',
    description: 'output folder',
    defaultText: 'models/<name>-<timestamp>',
  },
  name: {
    type: 'string',
    value: 'NAME',
    description: 'model name',
    defaultText: "the dataset folder's name",
  },
  architecture: {
    type: 'string',
    value: 'A',
    choices: ['mobilenet_v1', 'mobilenet_v2'],
    description: 'mobilenet_v1 | mobilenet_v2',
    defaultText: "the base's, else mobilenet_v1",
  },
  alpha: {
    type: 'number',
    value: 'A',
    description: 'width multiplier 0.25 | 0.35 | 0.5 | 0.75 | 1.0',
    defaultText: "the base's, else 0.25",
  },
  'input-size': {
    type: 'number',
    value: 'N',
    description: 'input size in pixels, a multiple of 32',
    defaultText: "the base's (224 for ImageNet MobileNets), else 64",
  },
  epochs: {
    type: 'number',
    value: 'N',
    description: 'maximum epochs',
    defaultText: 'about 800 optimizer steps (8-40 epochs) with --base, else 10',
  },
  'batch-size': {
    type: 'number',
    value: 'N',
    description: 'batch size',
    defaultText: '32 from 512 training images with --base, else 16',
  },
  'learning-rate': {
    type: 'number',
    value: 'X',
    description: 'peak Adam learning rate (warmup, then cosine decay)',
    defaultText: '0.002',
  },
  dropout: {
    type: 'number',
    value: 'X',
    description: 'dropout before the classifier',
    defaultText: '0.1 with --base, else 0.2',
  },
  patience: {
    type: 'number',
    value: 'N',
    description: 'early stopping patience in epochs',
    defaultText: '3',
  },
  'label-smoothing': {
    type: 'number',
    value: 'X',
    description: 'label smoothing: targets (1 - X)·onehot + X/classes',
    defaultText: '0',
  },
  seed: {
    type: 'number',
    value: 'N',
    default: 1,
    description:
      'seed for splits, initial weights, shuffling, augmentation and dropout: the same seed and data give the same metrics',
  },
  'hidden-units': {
    type: 'number',
    value: 'N',
    description: 'extra Dense(N, relu) layer before the classifier',
    defaultText: 'none',
  },
  base: {
    type: 'string',
    value: 'PATH|URL',
    description:
      'pretrained tfjs layers model (folder, model.json or http(s) URL to model.json); weights are matched by layer name and shape',
  },
  freeze: {
    type: 'string',
    value: 'F',
    description: 'what trains: head | last:N (the last N blocks + head) | none',
    defaultText: 'with --base: last:2 from 200 images per class, last:1 from 20, head under 20; none without',
  },
  augment: {
    type: 'string',
    choices: ['on', 'off'],
    default: 'on',
    description: 'augment the training split: flip, rotation, zoom, shear, shift, brightness',
  },
  'augment-variants': {
    type: 'number',
    value: 'N',
    description:
      'with a frozen part: augmented variants per image in the bottleneck cache, one picked per epoch',
    defaultText: '10,000 / training images, within 3-8',
  },
  balance: {
    type: 'string',
    value: 'B',
    choices: ['weights', 'sampling', 'none'],
    default: 'weights',
    description: 'class imbalance: weights (loss weights) | sampling | none',
  },
  'warmup-epochs': {
    type: 'number',
    value: 'X',
    description: 'linear learning-rate warmup before cosine decay',
    defaultText: '1 with --base, else 0',
  },
  'cache-dir': {
    type: 'string',
    value: 'DIR|none',
    description: 'bottleneck cache folder',
    defaultText: '<out>/../.bottleneck-cache with --base',
  },
  'max-pixels': {
    type: 'number',
    value: 'N',
    description: 'skip images with more pixels than this',
    defaultText: '40000000',
  },
  budget: {
    type: 'string',
    value: 'TIME',
    description:
      'try a few recipes (freeze depth, schedule, augmentation) within TIME (e.g. 10m) and keep the best by validation accuracy; flags you give stay fixed',
  },
  'init-from': {
    type: 'string',
    value: 'DIR',
    description: "continue from a previous model folder's weights (same classes)",
  },
  resume: {
    type: 'string',
    value: 'DIR',
    description:
      'continue an interrupted run in its output folder DIR (same options; --epochs may extend it)',
  },
  ...CONNECTION_OPTIONS,
  publish: { type: 'boolean', default: false, description: 'publish the trained model as the next version' },
} as const satisfies OptionDefs;

export const trainCommand = defineCommand({
  name: 'train',
  summary: 'train a MobileNet on a folder of labelled images and export it to ONNX',
  usage: 'edgeloop train --data DIR [options]',
  description:
    "Trains a MobileNet classifier on a folder-per-class dataset, exports it to ONNX and quantizes it: the output folder holds model.onnx (int8, what devices run), model.fp32.onnx, labels.json, metrics.json (both models' accuracy and agreement), manifest.json, curves.svg and confusion.svg.",
  options,
  notes: '--control-plane and --admin-token are used by --publish.',
  async run(args): Promise<number> {
    try {
      return await train(args);
    } catch (err) {
      if (err instanceof EdgeloopError && TRAIN_INPUT_ERRORS.has(err.code)) {
        process.stderr.write(`edgeloop train: ${err.message} [${err.code}]\n`);
        return 2;
      }
      throw err;
    }
  },
});

async function train({ values, explicit }: ParsedArgs<typeof options>): Promise<number> {
  const trainer = await import('@edgeloop/trainer');
  const logger = createLogger({ level: 'warn', name: 'edgeloop-train' });
  if (values.resume) {
    const metrics = await trainer.resumeTraining(values.resume, {
      epochs: explicit.has('epochs') ? values.epochs : undefined,
      logger,
      onProgress: progressPrinter(),
    });
    process.stdout.write(formatTrainSummary(values.resume, metrics));
    const { options } = await trainer.readRunState(values.resume);
    const q = await trainer.quantizeModelDir(values.resume, String(options.dataDir), {
      seed: typeof options.seed === 'number' ? options.seed : undefined,
    });
    process.stdout.write(`${trainer.formatQuantization(q)}\n`);
    return 0;
  }
  if (!values.data) throw new ValidationError(`--data is required\n\n${formatHelp(trainCommand)}`);
  const name = values.name ?? (values.data.replace(/\/+$/, '').split('/').pop() || 'model');
  const outDir = values.out ?? join('models', `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const trainOptions: TrainOptions = {
    dataDir: values.data,
    outDir,
    name,
    // Unset recipe settings stay undefined: the trainer picks them from the base and the dataset.
    architecture: values.architecture as TrainOptions['architecture'],
    alpha: values.alpha as TrainOptions['alpha'],
    inputSize: values['input-size'],
    epochs: values.epochs,
    batchSize: values['batch-size'],
    learningRate: values['learning-rate'],
    dropout: values.dropout,
    patience: values.patience,
    labelSmoothing: values['label-smoothing'],
    seed: values.seed,
    initFrom: values['init-from'],
    hiddenUnits: values['hidden-units'],
    base: values.base,
    freeze: values.freeze ? trainer.parseFreeze(values.freeze) : undefined,
    augment: values.augment === 'on',
    augmentVariants: values['augment-variants'],
    balance: values.balance,
    warmupEpochs: values['warmup-epochs'],
    cacheDir: values['cache-dir'] === 'none' ? null : values['cache-dir'],
    maxPixels: values['max-pixels'],
    logger,
    onProgress: progressPrinter(),
  };
  const budget = values.budget === undefined ? null : parseBudgetOption(trainer.parseBudget, values.budget);
  const metrics =
    budget === null
      ? await trainer.train(trainOptions)
      : await trainer.searchRecipes(trainOptions, budget, trainer.train);
  if (metrics.search) process.stdout.write(`${trainer.formatSearch(metrics.search)}\n`);
  process.stdout.write(formatTrainSummary(outDir, metrics));
  // int8 step (issue 4): model.onnx becomes the int8 model, the float one stays as model.fp32.onnx.
  const q = await trainer.quantizeModelDir(outDir, values.data, { seed: values.seed });
  process.stdout.write(`${trainer.formatQuantization(q)}\n`);
  if (q.int8EceDetail) process.stdout.write(`  int8 ${formatEceDetail(q.int8EceDetail, q.images)}\n`);
  if (values.publish) {
    const summary = await trainer.publishModelDir(apiClient(values), outDir);
    process.stdout.write(`published version ${summary.modelVersion}\n`);
  }
  return 0;
}

function parseBudgetOption(parse: (text: string) => number, text: string): number {
  try {
    return parse(text);
  } catch (err) {
    throw new ValidationError(`--budget: ${(err as Error).message}`);
  }
}
