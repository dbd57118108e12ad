/**
 * Training-speed benchmark for the pure-JS tfjs 'cpu' backend, stock kernels vs our fast kernels.
 *
 *   npx tsx bench/train-speed.ts [--size 64] [--alpha 0.25] [--batch 16] [--steps 5] [--stock-steps 2]
 *
 * Prints one JSON object: {stockImagesPerSec, fastImagesPerSec, speedup, size, alpha, batch, topKernels}.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { registerFastCpuKernels, restoreStockCpuKernels } from '../trainer/src/tf/fast-kernels/index.ts';

interface KernelShare {
  name: string;
  ms: number;
  pct: number;
}

const NUM_CLASSES = 5;

/** MobileNetV1-style classifier: conv 3x3 s2, six depthwise-separable blocks, GAP, dense softmax. */
function buildMobileNetV1(size: number, alpha: number): tf.LayersModel {
  const f = (n: number) => Math.max(8, Math.round(n * alpha));
  const input = tf.input({ shape: [size, size, 3] });
  const bnRelu = (x: tf.SymbolicTensor) =>
    tf.layers
      .reLU({ maxValue: 6 })
      .apply(tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor) as tf.SymbolicTensor;
  let x = bnRelu(
    tf.layers
      .conv2d({ filters: f(32), kernelSize: 3, strides: 2, padding: 'same', useBias: false })
      .apply(input) as tf.SymbolicTensor,
  );
  const strides = [1, 2, 1, 2, 1, 2];
  const filters = [64, 128, 128, 256, 256, 512];
  for (let i = 0; i < strides.length; i++) {
    x = bnRelu(
      tf.layers
        .depthwiseConv2d({ kernelSize: 3, strides: strides[i], padding: 'same', useBias: false })
        .apply(x) as tf.SymbolicTensor,
    );
    x = bnRelu(
      tf.layers
        .conv2d({ filters: f(filters[i]), kernelSize: 1, padding: 'same', useBias: false })
        .apply(x) as tf.SymbolicTensor,
    );
  }
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: NUM_CLASSES, activation: 'softmax' }).apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
  return model;
}

async function imagesPerSec(
  model: tf.LayersModel,
  xs: tf.Tensor,
  ys: tf.Tensor,
  steps: number,
): Promise<number> {
  await model.trainOnBatch(xs, ys); // warm-up: JIT, weight allocation
  const start = performance.now();
  for (let i = 0; i < steps; i++) await model.trainOnBatch(xs, ys);
  const seconds = (performance.now() - start) / 1000;
  return (steps * xs.shape[0]) / seconds;
}

async function profileStep(model: tf.LayersModel, xs: tf.Tensor, ys: tf.Tensor): Promise<KernelShare[]> {
  const info = await tf.profile(async () => {
    await model.trainOnBatch(xs, ys);
  });
  const byName = new Map<string, number>();
  for (const k of info.kernels) {
    // Custom-gradient ops (e.g. fusedConv2d__op) are recorded around the kernel they run: skip them.
    if (k.name.endsWith('__op')) continue;
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    byName.set(k.name, (byName.get(k.name) ?? 0) + ms);
  }
  const total = [...byName.values()].reduce((a, b) => a + b, 0) || 1;
  return [...byName.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 12)
    .map(([name, ms]) => ({ name, ms: Math.round(ms * 10) / 10, pct: Math.round((1000 * ms) / total) / 10 }));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: '64' },
      alpha: { type: 'string', default: '0.25' },
      batch: { type: 'string', default: '16' },
      steps: { type: 'string', default: '5' },
      'stock-steps': { type: 'string', default: '2' },
    },
  });
  const size = Number(values.size);
  const alpha = Number(values.alpha);
  const batch = Number(values.batch);
  const steps = Number(values.steps);
  const stockSteps = Number(values['stock-steps']);

  await tf.setBackend('cpu');
  await tf.ready();
  const xs = tf.randomUniform([batch, size, size, 3], -1, 1, 'float32', 1);
  const labels = tf.tensor1d(
    Array.from({ length: batch }, (_, i) => i % NUM_CLASSES),
    'int32',
  );
  const ys = tf.oneHot(labels, NUM_CLASSES).toFloat();

  restoreStockCpuKernels(tf);
  const stockModel = buildMobileNetV1(size, alpha);
  const stockImagesPerSec = stockSteps > 0 ? await imagesPerSec(stockModel, xs, ys, stockSteps) : Number.NaN;
  stockModel.dispose();

  registerFastCpuKernels(tf);
  const fastModel = buildMobileNetV1(size, alpha);
  const fastImagesPerSec = await imagesPerSec(fastModel, xs, ys, steps);
  const topKernels = await profileStep(fastModel, xs, ys);
  fastModel.dispose();

  const round = (v: number) => Math.round(v * 100) / 100;
  console.log(
    JSON.stringify({
      stockImagesPerSec: round(stockImagesPerSec),
      fastImagesPerSec: round(fastImagesPerSec),
      speedup: round(fastImagesPerSec / stockImagesPerSec),
      size,
      alpha,
      batch,
      topKernels,
    }),
  );
}

await main();
