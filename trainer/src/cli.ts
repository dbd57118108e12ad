/** The trainer's CLI commands: train, predict, publish. Human output goes to stdout. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ApiClient, createLogger, EdgeloopError } from '@edgeloop/shared';
import { predictImages } from './predict.ts';
import { downloadLabelledSamples, publishModelDir } from './publish/publish.ts';
import { formatQuantization, quantizeModelDir } from './quantize/quantize-model-dir.ts';
import { type TrainProgress, train } from './train/train.ts';

const TRAIN_HELP = `Usage: edgeloop train --data DIR [options]

Trains a MobileNet classifier on a folder-per-class dataset and exports it to ONNX.

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
  --seed N              shuffling and split seed (default 1)
  --init-from DIR       continue from a previous model folder's weights (same classes)
  --control-plane URL   control plane for --with-samples and --publish (env EDGELOOP_URL)
  --admin-token T       its admin token (env EDGELOOP_ADMIN_TOKEN)
  --with-samples        add the control plane's labelled field samples to the training split
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

export async function trainCommand(argv: string[]): Promise<number> {
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
      'control-plane': { type: 'string' },
      'admin-token': { type: 'string' },
      'with-samples': { type: 'boolean', default: false },
      publish: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(TRAIN_HELP);
    return 0;
  }
  if (!values.data) throw new EdgeloopError('VALIDATION_FAILED', `--data is required\n\n${TRAIN_HELP}`);
  const num = (name: keyof typeof values): number => {
    const v = Number(values[name]);
    if (!Number.isFinite(v))
      throw new EdgeloopError('VALIDATION_FAILED', `--${name} must be a number, got '${values[name]}'`);
    return v;
  };
  const name = values.name ?? (values.data.replace(/\/+$/, '').split('/').pop() || 'model');
  const outDir = values.out ?? join('models', `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  let samplesDir: string | undefined;
  try {
    if (values['with-samples']) {
      const api = client(values);
      samplesDir = await mkdtemp(join(tmpdir(), 'edgeloop-samples-'));
      const fetched = await downloadLabelledSamples(api, samplesDir);
      process.stdout.write(
        `field samples: downloaded ${fetched.sampleIds.length} labelled samples for training\n`,
      );
    }
    const metrics = await train({
      dataDir: values.data,
      outDir,
      name,
      architecture: values.architecture as 'mobilenet_v1',
      alpha: num('alpha') as 0.25,
      inputSize: num('input-size'),
      epochs: num('epochs'),
      batchSize: num('batch-size'),
      learningRate: num('learning-rate'),
      dropout: num('dropout'),
      patience: num('patience'),
      seed: num('seed'),
      initFrom: values['init-from'],
      extraTrain: samplesDir ? [samplesDir] : [],
      logger: createLogger({ level: 'warn', name: 'edgeloop-train' }),
      onProgress: progressPrinter(),
    });
    process.stdout.write(
      `\nwrote ${outDir}: val accuracy ${(metrics.valAccuracy * 100).toFixed(1)}% (onnx ${(metrics.onnxValAccuracy * 100).toFixed(1)}%, max |onnx - tfjs| ${metrics.onnxMaxAbsDiff.toExponential(1)}), ${metrics.trainImages} train / ${metrics.valImages} val images, ${metrics.imagesPerSec.toFixed(1)} img/s on ${metrics.backend}\n`,
    );
    if (metrics.skipped.length)
      process.stdout.write(`skipped ${metrics.skipped.length} files (see metrics.json)\n`);
    // int8 step (issue 4): model.onnx becomes the int8 model, the float one stays as model.fp32.onnx.
    const q = await quantizeModelDir(outDir, values.data, { seed: num('seed') });
    process.stdout.write(`${formatQuantization(q)}\n`);
    if (values.publish) {
      const summary = await publishModelDir(client(values), outDir);
      process.stdout.write(`published version ${summary.modelVersion}\n`);
    }
    return 0;
  } finally {
    if (samplesDir) await rm(samplesDir, { recursive: true, force: true });
  }
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
