/**
 * Gradient overrides for ops whose stock gradients are long chains of elementwise ops: Relu,
 * ClipByValue (together ReLU6), Square and Mean (the backward of tf.moments) and FusedBatchNorm.
 * Each override computes the same gradient with one kernel from gradient-kernels.ts when the
 * active backend is 'cpu' and the tensors are float32 of the shapes the kernel handles; otherwise
 * it calls the stock gradient function. The stock config travels inside ours so it can be put back.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { GRADIENT_KERNEL, gradientKernelConfigs } from './gradient-kernels.ts';
import type { TfLike } from './kernel-util.ts';

type Tensor = tfjs.Tensor;
type GradConfig = tfjs.GradConfig;
type GradFunc = GradConfig['gradFunc'];
type Grads = ReturnType<GradFunc>;

interface FastGradConfig extends GradConfig {
  edgeloopStock: GradConfig;
}

interface GradSpec {
  kernelName: string;
  /** The fast gradients, or null to use the stock ones for these tensors. */
  fast(tf: TfLike, dy: Tensor, saved: Tensor[], attrs: Record<string, unknown>): Grads | null;
}

function isFast(config: GradConfig): config is FastGradConfig {
  return 'edgeloopStock' in config;
}

function float32(...ts: (Tensor | undefined)[]): boolean {
  return ts.every((t) => t == null || t.dtype === 'float32');
}

function run(tf: TfLike, name: string, inputs: Record<string, Tensor>, attrs: object = {}): Tensor[] {
  const out = tf.engine().runKernel(name, inputs as tfjs.NamedTensorMap, attrs as tfjs.NamedAttrMap);
  return Array.isArray(out) ? (out as Tensor[]) : [out as Tensor];
}

/** A gradient of dy and x alone (same shapes), computed by one kernel. */
function pointwise(kernelName: string, gradKernel: string, attrNames: string[] = []): GradSpec {
  return {
    kernelName,
    fast: (tf, dy, [x], attrs) => {
      if (x == null || !float32(dy, x) || !tf.util.arraysEqual(dy.shape, x.shape)) return null;
      const picked = Object.fromEntries(attrNames.map((n) => [n, attrs[n]]));
      if (attrNames.some((n) => typeof attrs[n] !== 'number')) return null;
      return { x: () => run(tf, gradKernel, { dy, x }, picked)[0] };
    },
  };
}

const meanGrad: GradSpec = {
  kernelName: 'Mean',
  fast: (tf, dy, [x], attrs) => {
    if (x == null || !float32(dy, x) || x.rank === 0) return null;
    const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape);
    const expandedShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const reduceSize = axes.reduce((p, a) => p * x.shape[a], 1);
    if (dy.size !== tf.util.sizeFromShape(expandedShape) || reduceSize === 0) return null;
    return {
      x: () => run(tf, GRADIENT_KERNEL.mean, { dy }, { shape: x.shape, expandedShape, reduceSize })[0],
    };
  },
};

const batchNormGrad: GradSpec = {
  kernelName: 'FusedBatchNorm',
  fast: (tf, dy, [x, mean, variance, scale], attrs) => {
    if (x == null || mean == null || variance == null || !float32(dy, x, mean, variance, scale)) return null;
    const c = x.shape[x.rank - 1];
    const perChannel = (t: Tensor | undefined) => t == null || (t.rank === 1 && t.shape[0] === c);
    if (x.rank < 1 || mean.rank !== 1 || !perChannel(mean) || !perChannel(variance) || !perChannel(scale)) {
      return null;
    }
    if (!tf.util.arraysEqual(dy.shape, x.shape) || typeof attrs.varianceEpsilon !== 'number') return null;
    const inputs: Record<string, Tensor> = { x, mean, variance, dy };
    if (scale != null) inputs.scale = scale;
    const [dx, dMean, dVariance, dScale, dOffset] = run(tf, GRADIENT_KERNEL.batchNorm, inputs, {
      varianceEpsilon: attrs.varianceEpsilon,
    });
    return {
      x: () => dx,
      mean: () => dMean,
      variance: () => dVariance,
      scale: () => dScale,
      offset: () => dOffset,
    };
  },
};

function specs(): GradSpec[] {
  return [
    pointwise('Relu', GRADIENT_KERNEL.relu),
    pointwise('ClipByValue', GRADIENT_KERNEL.clip, ['clipValueMin', 'clipValueMax']),
    pointwise('Square', GRADIENT_KERNEL.square),
    meanGrad,
    batchNormGrad,
  ];
}

/** Registers the helper kernels and the gradient overrides. Idempotent. */
export function registerFastGradients(tf: TfLike): string[] {
  for (const config of gradientKernelConfigs()) {
    if (tf.getKernel(config.kernelName, 'cpu') == null) tf.registerKernel(config);
  }
  const registered: string[] = [];
  for (const spec of specs()) {
    const current = tf.getGradient(spec.kernelName);
    if (current == null) continue;
    if (!isFast(current)) {
      const stock = current;
      const gradFunc: GradFunc = (dy, saved, attrs) => {
        const single = Array.isArray(dy) ? null : dy;
        const fast =
          single != null && tf.getBackend() === 'cpu'
            ? spec.fast(tf, single, saved, attrs as Record<string, unknown>)
            : null;
        return fast ?? stock.gradFunc(dy, saved, attrs);
      };
      const config: FastGradConfig = { ...stock, gradFunc, edgeloopStock: stock };
      tf.registerGradient(config);
    }
    registered.push(spec.kernelName);
  }
  return registered;
}

/** Puts the stock gradients back. Idempotent. The helper kernels stay (nothing else calls them). */
export function restoreStockGradients(tf: TfLike): string[] {
  const restored: string[] = [];
  for (const spec of specs()) {
    const current = tf.getGradient(spec.kernelName);
    if (current == null || !isFast(current)) continue;
    tf.registerGradient(current.edgeloopStock);
    restored.push(spec.kernelName);
  }
  return restored;
}
