/**
 * Fused training paths for tfjs-layers classes, installed on their prototypes: a
 * BatchNormalization called with training=true over all but the last axis, and a ReLU with a
 * maxValue (ReLU6). Each becomes one custom-gradient op backed by a layer-kernels.ts kernel, so
 * the ~20 elementwise passes and allocations tfjs spends per batch norm + ReLU6 (forward and
 * backward) shrink to about 6. Same results up to float32 summation order, same moving-average
 * updates; every other case (inference, other axes, float16, other backends, no scale or centre)
 * runs the stock `call`. Conv2D gets conv-layer-patch.ts's `call`, which skips input gradients
 * nobody needs. The stock method travels on the prototype so it can be put back.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { recordActivation, relu6MaxFed, takeActivation } from './bn-relu6-patch.ts';
import { lazyGradConv2d } from './conv-layer-patch.ts';
import type { TfLike } from './kernel-util.ts';
import { LAYER_KERNEL, layerKernelConfigs } from './layer-kernels.ts';
import { channelPasses } from './layer-wasm.ts';

type Tensor = tfjs.Tensor;
type Kwargs = Record<string, unknown>;
type GradFn = Parameters<typeof tfjs.customGrad>[0];
type CallFn = (this: LayerLike, inputs: Tensor | Tensor[], kwargs: Kwargs) => Tensor | Tensor[];

interface LayerLike {
  call: CallFn;
  edgeloopStockCall?: CallFn;
  axis?: number;
  epsilon?: number;
  momentum?: number;
  maxValue?: number;
  gamma?: { read(): Tensor } | null;
  beta?: { read(): Tensor } | null;
  movingMean?: { read(): Tensor; write(t: Tensor): void };
  movingVariance?: { read(): Tensor; write(t: Tensor): void };
  outboundNodes?: { outboundLayer?: { maxValue?: unknown; getClassName?(): string } }[];
}

/** The parts of tfjs the patches use (tfjs and tfjs-node both provide them). */
export type TfLayersLike = TfLike &
  Pick<typeof tfjs, 'layers' | 'customGrad' | 'tidy' | 'keep' | 'dispose' | 'conv2d' | 'clone'>;

function one(inputs: Tensor | Tensor[]): Tensor | null {
  if (!Array.isArray(inputs)) return inputs;
  return inputs.length === 1 ? inputs[0] : null;
}

function run(tf: TfLike, name: string, inputs: Record<string, Tensor>, attrs: object): Tensor[] {
  const out = tf.engine().runKernel(name, inputs as tfjs.NamedTensorMap, attrs as tfjs.NamedAttrMap);
  return Array.isArray(out) ? (out as Tensor[]) : [out as Tensor];
}

function fusedBatchNorm(tf: TfLayersLike, stock: CallFn): CallFn {
  return function (this: LayerLike, inputs, kwargs) {
    const x = one(inputs);
    const { movingMean, movingVariance } = this;
    const gamma = this.gamma?.read();
    const beta = this.beta?.read();
    const c = x?.shape[x.rank - 1];
    const axis = x == null || this.axis == null ? -2 : this.axis < 0 ? this.axis + x.rank : this.axis;
    const applies =
      kwargs?.training === true &&
      x != null &&
      x.dtype === 'float32' &&
      x.rank >= 2 &&
      x.size > 0 &&
      axis === x.rank - 1 &&
      gamma?.dtype === 'float32' &&
      beta?.dtype === 'float32' &&
      gamma.size === c &&
      beta.size === c &&
      movingMean != null &&
      movingVariance != null &&
      movingMean.read().dtype === 'float32' &&
      movingVariance.read().dtype === 'float32' &&
      movingMean.read().size === c &&
      movingVariance.read().size === c &&
      tf.getBackend() === 'cpu';
    if (
      !applies ||
      x == null ||
      gamma == null ||
      beta == null ||
      movingMean == null ||
      movingVariance == null
    ) {
      return stock.call(this, inputs, kwargs);
    }
    const epsilon = this.epsilon ?? 1e-3;
    // A ReLU6 this layer feeds can take relu6(y) from the apply pass (bn-relu6-patch.ts).
    const relu6Max = channelPasses() != null && (c ?? 0) % 4 === 0 ? relu6MaxFed(this) : null;
    return tf.tidy(() => {
      let moving: Tensor[] = [];
      let act: Tensor | null = null;
      const op = tf.customGrad(((xi: Tensor, g: Tensor, b: Tensor, save: tfjs.GradSaveFunc) => {
        // The kernel also applies the stock moving-average update (normalization.js
        // doMovingAverage, same float32 steps) to the moving statistics.
        const [y, mean, variance, newMean, newVariance, relu6] = run(
          tf,
          LAYER_KERNEL.batchNorm,
          { x: xi, gamma: g, beta: b, movingMean: movingMean.read(), movingVariance: movingVariance.read() },
          { epsilon, momentum: this.momentum ?? 0.99, ...(relu6Max == null ? {} : { relu6Max }) },
        );
        if (relu6 != null) act = tf.keep(relu6);
        // The op's forward runs in its own tidy: keep the new moving statistics to write them.
        moving = [tf.keep(newMean), tf.keep(newVariance)];
        save([xi, g, mean, variance]);
        return {
          value: y,
          gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
            const [sx, sg, sm, sv] = saved;
            return run(
              tf,
              LAYER_KERNEL.batchNormGrad,
              { dy: dy as Tensor, x: sx, gamma: sg, mean: sm, variance: sv },
              { epsilon },
            );
          },
        };
      }) as unknown as GradFn);
      const normed = op(x, gamma, beta) as Tensor;
      movingMean.write(moving[0]);
      movingVariance.write(moving[1]);
      tf.dispose(moving);
      if (act != null && relu6Max != null) recordActivation(this, normed, act, relu6Max, tf);
      return normed;
    });
  };
}

function fusedRelu6(tf: TfLayersLike, stock: CallFn): CallFn {
  return function (this: LayerLike, inputs, kwargs) {
    const x = one(inputs);
    const maxValue = this.maxValue;
    const applies =
      x != null && x.dtype === 'float32' && typeof maxValue === 'number' && tf.getBackend() === 'cpu';
    if (!applies || x == null) return stock.call(this, inputs, kwargs);
    // relu6(x) already computed by the batch norm that produced x, if it was (bn-relu6-patch.ts).
    const pre = takeActivation(x, maxValue);
    const op = tf.customGrad(((xi: Tensor, save: tfjs.GradSaveFunc) => {
      save([xi]);
      return {
        value: pre != null ? tf.clone(pre) : run(tf, LAYER_KERNEL.relu6, { x: xi }, { maxValue })[0],
        gradFunc: (dy: Tensor | Tensor[], [sx]: Tensor[]) =>
          run(tf, LAYER_KERNEL.relu6Grad, { dy: dy as Tensor, x: sx }, { maxValue })[0],
      };
    }) as unknown as GradFn);
    const out = op(x) as Tensor;
    if (pre != null) tf.dispose(pre);
    return out;
  };
}

function prototypes(
  tf: TfLayersLike,
): { proto: LayerLike; make: (tf: TfLayersLike, stock: CallFn) => CallFn }[] {
  // The classes are not exported; an instance leads to the prototype every such layer shares.
  const bn = Object.getPrototypeOf(tf.layers.batchNormalization({})) as LayerLike;
  const relu = Object.getPrototypeOf(tf.layers.reLU({})) as LayerLike;
  const conv = Object.getPrototypeOf(tf.layers.conv2d({ filters: 1, kernelSize: 1 })) as LayerLike;
  return [
    { proto: bn, make: fusedBatchNorm },
    { proto: relu, make: fusedRelu6 },
    { proto: conv, make: lazyGradConv2d as unknown as (tf: TfLayersLike, stock: CallFn) => CallFn },
  ];
}

/** Installs the fused layer paths and their kernels. Idempotent. */
export function patchLayers(tf: TfLayersLike): void {
  for (const config of layerKernelConfigs()) {
    if (tf.getKernel(config.kernelName, 'cpu') == null) tf.registerKernel(config);
  }
  for (const { proto, make } of prototypes(tf)) {
    if (Object.hasOwn(proto, 'edgeloopStockCall')) continue;
    const stock = proto.call;
    proto.edgeloopStockCall = stock;
    proto.call = make(tf, stock);
  }
}

/** Puts the stock `call` methods back. Idempotent. */
export function unpatchLayers(tf: TfLayersLike): void {
  for (const { proto } of prototypes(tf)) {
    const stock = proto.edgeloopStockCall;
    if (stock == null || !Object.hasOwn(proto, 'edgeloopStockCall')) continue;
    proto.call = stock;
    delete proto.edgeloopStockCall;
  }
}
