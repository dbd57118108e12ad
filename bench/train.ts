/**
 * Training throughput of the pure (no tfjs-node) backend against stock tfjs on the CPU.
 *
 *   npx edgeloop bench train [--json] [--steps 10] [--batch 32] [--stock-batch 4] [--stock-steps 1]
 *                            [--size 96] [--alpha 0.35] [--profile]
 *
 * Model: the trainer's own MobileNetV2 builder (alpha 0.35, 96x96, 10 classes, every layer
 * trainable), compiled with Adam and categorical cross-entropy; one step = model.trainOnBatch, the
 * call `edgeloop train` makes. Random inputs: throughput does not depend on pixel values.
 *
 * The fast figure is the median of --steps timed steps after two warm-up steps (JIT, WebAssembly
 * tier-up). Stock kernels take tens of seconds per batch, so they run --stock-steps steps on
 * --stock-batch images (images/s of these per-element kernels barely depends on batch size), after
 * one warm-up step on one image; `stockBatch` in the output says which batch was used.
 * Progress goes to stderr; stdout gets one JSON object with --json, a short summary otherwise.
 */
import { parseArgs } from 'node:util';
import type * as tfjs from '@tensorflow/tfjs';
import { buildMobileNet } from '../trainer/src/model/build-mobilenet.ts';
import {
  kernelThreads,
  registerFastCpuKernels,
  restoreStockCpuKernels,
} from '../trainer/src/tf/fast-kernels/index.ts';
import { loadTf, type Tf } from '../trainer/src/tf/load-tf.ts';

const NUM_CLASSES = 10;

interface KernelShare {
  name: string;
  ms: number;
  pct: number;
}

function log(line: string): void {
  process.stderr.write(`[bench train] ${line}\n`);
}

function batchOf(tf: Tf, n: number, size: number) {
  const xs = tf.randomUniform([n, size, size, 3], -1, 1, 'float32', 7);
  const labels = tf.tensor1d(
    Array.from({ length: n }, (_, i) => i % NUM_CLASSES),
    'int32',
  );
  const ys = tf.oneHot(labels, NUM_CLASSES).toFloat();
  labels.dispose();
  return { xs, ys };
}

function buildModel(tf: Tf, size: number, alpha: number): tfjs.LayersModel {
  const model = buildMobileNet({
    architecture: 'mobilenet_v2',
    alpha: alpha as 0.35,
    inputSize: size,
    numClasses: NUM_CLASSES,
    dropout: 0.2,
  });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
  return model;
}

/**
 * Wall milliseconds of each of `steps` trainOnBatch calls, and the CPU milliseconds this process
 * used meanwhile (user + system, all threads): on a shared machine CPU time shows how much of the
 * wall time the process actually ran.
 */
async function timeSteps(
  model: tfjs.LayersModel,
  xs: tfjs.Tensor,
  ys: tfjs.Tensor,
  steps: number,
  label: string,
): Promise<number[] & { cpuMs?: number }> {
  const times: number[] & { cpuMs?: number } = [];
  const cpuStart = process.cpuUsage();
  for (let i = 0; i < steps; i++) {
    const start = performance.now();
    const loss = await model.trainOnBatch(xs, ys);
    const ms = performance.now() - start;
    times.push(ms);
    const ips = (xs.shape[0] * 1000) / ms;
    log(
      `${label} step ${i + 1}/${steps}: ${ms.toFixed(0)} ms, ${ips.toFixed(1)} images/s, loss ${Number(loss).toFixed(4)}`,
    );
  }
  const cpu = process.cpuUsage(cpuStart);
  times.cpuMs = (cpu.user + cpu.system) / 1000;
  return times;
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

async function profileStep(tf: Tf, model: tfjs.LayersModel, xs: tfjs.Tensor, ys: tfjs.Tensor) {
  const info = await tf.profile(async () => {
    await model.trainOnBatch(xs, ys);
  });
  const byName = new Map<string, number>();
  for (const k of info.kernels) {
    // Custom-gradient ops (e.g. fusedConv2d__op) are recorded around the kernel they run: skip them.
    if (k.name.endsWith('__op')) continue;
    byName.set(k.name, (byName.get(k.name) ?? 0) + (typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0));
  }
  const total = [...byName.values()].reduce((a, b) => a + b, 0) || 1;
  const top: KernelShare[] = [...byName.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15)
    .map(([name, ms]) => ({ name, ms: Math.round(ms), pct: Math.round((1000 * ms) / total) / 10 }));
  return { kernelCalls: info.kernels.length, kernelMs: Math.round(total), topKernels: top };
}

export async function benchMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: 'boolean', default: false },
      steps: { type: 'string', default: '10' },
      batch: { type: 'string', default: '32' },
      'stock-batch': { type: 'string', default: '4' },
      'stock-steps': { type: 'string', default: '1' },
      size: { type: 'string', default: '96' },
      alpha: { type: 'string', default: '0.35' },
      profile: { type: 'boolean', default: false },
    },
  });
  const steps = Number(values.steps);
  const batch = Number(values.batch);
  const stockBatch = Number(values['stock-batch']);
  const stockSteps = Number(values['stock-steps']);
  const size = Number(values.size);
  const alpha = Number(values.alpha);

  // The default backend without tfjs-node: exactly what `edgeloop train` picks on such a machine.
  const { tf, name: backend, description } = await loadTf({ preferNative: false });
  log(`backend ${backend}: ${description}`);
  log(`MobileNetV2 alpha ${alpha} @${size}px, batch ${batch}, Adam, all layers trainable`);

  const fast = buildModel(tf, size, alpha);
  const initial = fast.getWeights().map((w) => w.clone());
  const params = fast.countParams();
  const big = batchOf(tf, batch, size);
  await timeSteps(fast, big.xs, big.ys, 2, 'warm-up');
  const fastTimes = await timeSteps(fast, big.xs, big.ys, steps, backend);
  const profile = values.profile ? await profileStep(tf, fast, big.xs, big.ys) : undefined;
  fast.dispose();
  tf.dispose([big.xs, big.ys]);

  let stockImagesPerSec = Number.NaN;
  let stockImagesPerCpuSecond = Number.NaN;
  if (stockSteps > 0) {
    // Same architecture and initial weights, tfjs's own kernels and gradients.
    restoreStockCpuKernels(tf);
    try {
      const stock = buildModel(tf, size, alpha);
      stock.setWeights(initial);
      const one = batchOf(tf, 1, size);
      await timeSteps(stock, one.xs, one.ys, 1, 'stock warm-up');
      const small = batchOf(tf, stockBatch, size);
      const stockTimes = await timeSteps(stock, small.xs, small.ys, stockSteps, 'stock cpu');
      stockImagesPerSec = (stockBatch * 1000) / median(stockTimes);
      stockImagesPerCpuSecond = (stockBatch * stockTimes.length * 1000) / (stockTimes.cpuMs ?? Number.NaN);
      stock.dispose();
      tf.dispose([one.xs, one.ys, small.xs, small.ys]);
    } finally {
      if (backend !== 'cpu') registerFastCpuKernels(tf);
    }
  }
  tf.dispose(initial);

  const round = (v: number, d = 2) => Math.round(v * 10 ** d) / 10 ** d;
  const trainImagesPerSec = (batch * 1000) / median(fastTimes);
  const wallMs = fastTimes.reduce((a, b) => a + b, 0);
  const cpuMs = fastTimes.cpuMs ?? Number.NaN;
  const result = {
    benchmark: 'train',
    model: `mobilenet_v2 alpha ${alpha} @${size}`,
    params,
    batch,
    backend,
    // Threads the SIMD kernels ran on (EDGELOOP_TRAIN_THREADS; 1 = no worker pool).
    threads: backend === 'cpu+edgeloop-simd' ? kernelThreads() : 1,
    trainImagesPerSec: round(trainImagesPerSec),
    bestImagesPerSec: round((batch * 1000) / Math.min(...fastTimes)),
    stepMs: fastTimes.map((t) => Math.round(t)),
    // CPU time per wall time over the timed steps (1 = one core busy the whole time) and the
    // throughput per CPU-second: when other processes share the cores, the second is closer to
    // what a quiet machine gives than trainImagesPerSec.
    cpuPerWall: round(cpuMs / wallMs),
    imagesPerCpuSecond: round((batch * fastTimes.length * 1000) / cpuMs),
    stockCpuImagesPerSec: round(stockImagesPerSec, 3),
    stockBatch,
    ratio: round(trainImagesPerSec / stockImagesPerSec, 1),
    // The same comparison per CPU-second: steadier when the machine's load changes between the
    // fast and the stock phase.
    stockImagesPerCpuSecond: round(stockImagesPerCpuSecond, 3),
    cpuRatio: round((batch * fastTimes.length * 1000) / cpuMs / stockImagesPerCpuSecond, 1),
    ...(profile ?? {}),
  };
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    process.stdout.write(
      `${backend}: ${result.trainImagesPerSec} images/s (best ${result.bestImagesPerSec}); ` +
        `stock cpu: ${result.stockCpuImagesPerSec} images/s; ratio ${result.ratio}x\n`,
    );
  }
  return 0;
}
