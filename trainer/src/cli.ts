/** The trainer's CLI commands: train, predict, publish. Human output goes to stdout. */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ApiClient, createLogger, EdgeloopError } from '@edgeloop/shared';
import { parseFreeze } from './model/split-model.ts';
import type { TrainMetrics } from './output/model-dir.ts';
import { predictImages } from './predict.ts';
import { publishModelDir } from './publish/publish.ts';
import { formatQuantization, quantizeModelDir } from './quantize/quantize-model-dir.ts';
import { readRunState } from './train/run-state.ts';
import { resumeTraining, type TrainProgress, train } from './train/train.ts';

const TRAIN_HELP = `Usage: edgeloop train --data DIR [options]

Trains a MobileNet classifier on a folder-per-class dataset, exports it to ONNX and quantizes it:
the output folder holds model.onnx (int8, what devices run), model.fp32.onnx, labels.json,
metrics.json (both models' accuracy and agreement), manifest.json, curves.svg and confusion.svg.

  --data DIR            dataset: DIR/train/<class>/*.jpg (+ DIR/validation/…), or DIR/<class>/*.jpg
  --out DIR             output folder (default: models/<name>-<timestamp>)
  --name NAME           model name (default: the dataset folder's name)
  --architecture A      mobilenet_v1 | mobilenet_v2 (default mobilenet_v1)
  --alpha A             width multiplier 0.25 | 0.35 | 0.5 | 0.75 | 1.0 (default 0.25)
  --input-size N        input size in pixels, a multiple of 32 (default 64)
  --epochs N            maximum epochs (default 10)
  --batch-size N        (default 16)
  --learning-rate X     Adam learning rate (default 0.002)
  --dropout X           dropout before the classifier (default 0.2)
  --patience N          early stopping patience in epochs (default 3)
  --seed N              seed for splits, initial weights, shuffling, augmentation and dropout:
                        the same seed and data give the same metrics (default 1)
  --hidden-units N      extra Dense(N, relu) layer before the classifier (default: none)
  --base PATH|URL       pretrained tfjs layers model (folder, model.json or http(s) URL to
                        model.json); weights are matched by layer name and shape
  --freeze F            what trains: head | last:N (the last N blocks + head) | none
                        (default: head with --base, none without)
  --augment on|off      augment the training split: flip, rotation, zoom, shear, shift,
                        brightness (default on)
  --augment-variants N  with a frozen part: augmented variants per image in the bottleneck
                        cache, one picked per epoch (default 4)
  --balance B           class imbalance: weights (loss weights) | sampling | none (default weights)
  --warmup-epochs X     linear learning-rate warmup before cosine decay (default 1 with --base, else 0)
  --cache-dir DIR|none  bottleneck cache folder (default <out>/../.bottleneck-cache with --base)
  --max-pixels N        skip images with more pixels than this (default 40000000)
  --init-from DIR       continue from a previous model folder's weights (same classes)
  --resume DIR          continue an interrupted run in its output folder DIR (same options;
                        --epochs may extend it)
  --control-plane URL   control plane for --publish (env EDGELOOP_URL)
  --admin-token T       its admin token (env EDGELOOP_ADMIN_TOKEN)
  --publish             publish the trained model as the next version
  -h, --help            show this help
`;

const PREDICT_HELP = `Usage: edgeloop predict --model DIR IMAGE...

Prints the top-k labels with confidence for each image, using DIR/model.onnx.

  --model DIR   a model folder written by edgeloop train
  --top-k N     how many labels to print (default 3)
  --json        print JSON instead of text
  -h, --help    show this help
`;

const PUBLISH_HELP = `Usage: edgeloop publish --model DIR [--control-plane URL] [--admin-token T] [--model-version N]

Uploads a model folder to the control plane, which signs its manifest. Without --model-version the
next free version is used.
`;

function client(values: { 'control-plane'?: string; 'admin-token'?: string }): ApiClient {
  const url = values['control-plane'] ?? process.env.EDGELOOP_URL;
  const token = values['admin-token'] ?? process.env.EDGELOOP_ADMIN_TOKEN;
  if (!url || !token) {
    throw new EdgeloopError(
      'CONFIG_INVALID',
      'this needs --control-plane URL and --admin-token T (or EDGELOOP_URL and EDGELOOP_ADMIN_TOKEN)',
    );
  }
  return new ApiClient(url, token);
}

export function progressPrinter(stream: NodeJS.WriteStream = process.stdout): (p: TrainProgress) => void {
  const tty = stream.isTTY === true;
  let lastLine = 0;
  return (p) => {
    if (p.phase === 'train') {
      const line = `epoch ${p.epoch}/${p.epochs} batch ${p.batch}/${p.batches} loss ${p.loss?.toFixed(4)} acc ${p.accuracy?.toFixed(3)} ${p.imagesPerSec?.toFixed(1)} img/s ETA ${Math.round(p.etaSec ?? 0)}s`;
      if (tty) stream.write(`\r${line}\x1b[K`);
      else if (p.batch === p.batches || Date.now() - lastLine > 5000) {
        lastLine = Date.now();
        stream.write(`${line}\n`);
      }
    } else if (p.phase === 'evaluate') {
      stream.write(
        `${tty ? '\r\x1b[K' : ''}epoch ${p.epoch}/${p.epochs} loss ${p.loss?.toFixed(4)} acc ${p.accuracy?.toFixed(3)} val_loss ${p.valLoss?.toFixed(4)} val_acc ${p.valAccuracy?.toFixed(3)}\n`,
      );
    } else if (p.message) {
      stream.write(`${p.message}\n`);
    }
  };
}

function printSummary(outDir: string, metrics: TrainMetrics): void {
  const pct = (v: number | null | undefined) => (v == null ? 'n/a' : `${(v * 100).toFixed(1)}%`);
  process.stdout.write(
    `\nwrote ${outDir}: val accuracy ${pct(metrics.valAccuracy)} (onnx ${pct(metrics.onnxValAccuracy)}, max |onnx - tfjs| ${metrics.onnxMaxAbsDiff.toExponential(1)}), test ${pct(metrics.testAccuracy)}, ${metrics.trainImages} train / ${metrics.valImages} val / ${metrics.testImages ?? 0} test images, ${metrics.imagesPerSec.toFixed(1)} img/s on ${metrics.backend}, ${metrics.totalSeconds.toFixed(0)}s\n`,
  );
  if (metrics.skipped.length)
    process.stdout.write(`skipped ${metrics.skipped.length} files (see metrics.json)\n`);
  if (metrics.duplicates) process.stdout.write(`${metrics.duplicates} duplicate images kept once\n`);
}

/** Errors that mean "your data, base or flags are wrong": exit 2 like a usage error. */
const TRAIN_INPUT_ERRORS = new Set([
  'DATASET_INVALID',
  'MODEL_INVALID',
  'UPSTREAM_FAILED',
  'VALIDATION_FAILED',
]);

export async function trainCommand(argv: string[]): Promise<number> {
  try {
    return await runTrain(argv);
  } catch (err) {
    if (err instanceof EdgeloopError && TRAIN_INPUT_ERRORS.has(err.code)) {
      process.stderr.write(`edgeloop train: ${err.message} [${err.code}]\n`);
      return 2;
    }
    throw err;
  }
}

async function runTrain(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      out: { type: 'string' },
      name: { type: 'string' },
      architecture: { type: 'string', default: 'mobilenet_v1' },
      alpha: { type: 'string', default: '0.25' },
      'input-size': { type: 'string', default: '64' },
      epochs: { type: 'string', default: '10' },
      'batch-size': { type: 'string', default: '16' },
      'learning-rate': { type: 'string', default: '0.002' },
      dropout: { type: 'string', default: '0.2' },
      patience: { type: 'string', default: '3' },
      seed: { type: 'string', default: '1' },
      'init-from': { type: 'string' },
      'hidden-units': { type: 'string' },
      base: { type: 'string' },
      freeze: { type: 'string' },
      augment: { type: 'string', default: 'on' },
      'augment-variants': { type: 'string', default: '4' },
      balance: { type: 'string', default: 'weights' },
      'warmup-epochs': { type: 'string' },
      'cache-dir': { type: 'string' },
      'max-pixels': { type: 'string' },
      resume: { type: 'string' },
      'control-plane': { type: 'string' },
      'admin-token': { type: 'string' },
      publish: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(TRAIN_HELP);
    return 0;
  }
  const num = (name: keyof typeof values): number => {
    const v = Number(values[name]);
    if (!Number.isFinite(v))
      throw new EdgeloopError('VALIDATION_FAILED', `--${name} must be a number, got '${values[name]}'`);
    return v;
  };
  if (values.resume) {
    const metrics = await resumeTraining(values.resume, {
      epochs: argv.some((a) => a.startsWith('--epochs')) ? num('epochs') : undefined,
      logger: createLogger({ level: 'warn', name: 'edgeloop-train' }),
      onProgress: progressPrinter(),
    });
    printSummary(values.resume, metrics);
    const { options } = await readRunState(values.resume);
    const q = await quantizeModelDir(values.resume, String(options.dataDir), {
      seed: typeof options.seed === 'number' ? options.seed : undefined,
    });
    process.stdout.write(`${formatQuantization(q)}\n`);
    return 0;
  }
  if (!values.data) throw new EdgeloopError('VALIDATION_FAILED', `--data is required\n\n${TRAIN_HELP}`);
  const oneOf = <T extends string>(name: keyof typeof values, allowed: readonly T[]): T => {
    const v = String(values[name]);
    if (!allowed.includes(v as T))
      throw new EdgeloopError(
        'VALIDATION_FAILED',
        `--${name} must be one of ${allowed.join(', ')}, got '${v}'`,
      );
    return v as T;
  };
  const name = values.name ?? (values.data.replace(/\/+$/, '').split('/').pop() || 'model');
  const outDir = values.out ?? join('models', `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const metrics = await train({
    dataDir: values.data,
    outDir,
    name,
    architecture: oneOf('architecture', ['mobilenet_v1', 'mobilenet_v2'] as const),
    alpha: num('alpha') as 0.25,
    inputSize: num('input-size'),
    epochs: num('epochs'),
    batchSize: num('batch-size'),
    learningRate: num('learning-rate'),
    dropout: num('dropout'),
    patience: num('patience'),
    seed: num('seed'),
    initFrom: values['init-from'],
    hiddenUnits: values['hidden-units'] ? num('hidden-units') : undefined,
    base: values.base,
    freeze: values.freeze ? parseFreeze(values.freeze) : undefined,
    augment: oneOf('augment', ['on', 'off'] as const) === 'on',
    augmentVariants: num('augment-variants'),
    balance: oneOf('balance', ['weights', 'sampling', 'none'] as const),
    warmupEpochs: values['warmup-epochs'] ? num('warmup-epochs') : undefined,
    cacheDir: values['cache-dir'] === 'none' ? null : values['cache-dir'],
    maxPixels: values['max-pixels'] ? num('max-pixels') : undefined,
    logger: createLogger({ level: 'warn', name: 'edgeloop-train' }),
    onProgress: progressPrinter(),
  });
  printSummary(outDir, metrics);
  // int8 step (issue 4): model.onnx becomes the int8 model, the float one stays as model.fp32.onnx.
  const q = await quantizeModelDir(outDir, values.data, { seed: num('seed') });
  process.stdout.write(`${formatQuantization(q)}\n`);
  if (values.publish) {
    const summary = await publishModelDir(client(values), outDir);
    process.stdout.write(`published version ${summary.modelVersion}\n`);
  }
  return 0;
}

export async function predictCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      'top-k': { type: 'string', default: '3' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(PREDICT_HELP);
    return 0;
  }
  if (!values.model || positionals.length === 0) {
    throw new EdgeloopError(
      'VALIDATION_FAILED',
      `--model and at least one image are required\n\n${PREDICT_HELP}`,
    );
  }
  const results = await predictImages(values.model, positionals, Number(values['top-k']));
  if (values.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else {
    for (const r of results) {
      process.stdout.write(
        `${r.image}: ${r.topK.map((t) => `${t.label} ${(t.confidence * 100).toFixed(1)}%`).join(', ')}\n`,
      );
    }
  }
  return 0;
}

export async function publishCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      'control-plane': { type: 'string' },
      'admin-token': { type: 'string' },
      'model-version': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(PUBLISH_HELP);
    return 0;
  }
  if (!values.model) throw new EdgeloopError('VALIDATION_FAILED', `--model is required\n\n${PUBLISH_HELP}`);
  const summary = await publishModelDir(client(values), values.model, {
    modelVersion: values['model-version'] ? Number(values['model-version']) : undefined,
  });
  process.stdout.write(
    `published version ${summary.modelVersion} (${summary.files.map((f) => f.name).join(', ')})\n`,
  );
  return 0;
}
