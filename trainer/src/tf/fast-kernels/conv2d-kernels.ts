/**
 * Fast 'cpu' kernels for Conv2D, FusedConv2D, Conv2DBackpropFilter and Conv2DBackpropInput.
 * NHWC float32 only; anything else (NCHW, other dtypes, fused PReLU/leaky ReLU/sigmoid, odd biases)
 * goes to the stock kernel. Geometry comes from tfjs's own computeConv2DInfo, so 'same'/'valid'/
 * explicit padding and dimRoundingMode mean exactly what they mean in the stock kernels.
 */
import { conv2dFilterGrad, conv2dForward, conv2dInputGrad } from './conv2d-math.ts';
import { conv2dFilterGradWasm, conv2dForwardWasm, conv2dInputGradWasm } from './conv2d-wasm.ts';
import {
  type Attrs,
  attrsOf,
  type FastKernelSpec,
  f32,
  f32Input,
  geometryOf,
  type KernelArgs,
  type KernelContext,
  makeF32,
  type Shape4,
  type TfLike,
  unitDilations,
} from './kernel-util.ts';

function channelsLast(tf: TfLike, dataFormat: unknown): boolean {
  return (
    tf.backend_util.convertConv2DDataFormat((dataFormat ?? 'NHWC') as 'NHWC' | 'NCHW') === 'channelsLast'
  );
}

/** tfjs's own NHWC geometry for a convolution; the backprop kernels use dilation 1, as stock does. */
function convInfo(tf: TfLike, inShape: unknown, filterShape: unknown, a: Attrs, dilations: unknown = 1) {
  return tf.backend_util.computeConv2DInfo(
    inShape as Shape4,
    filterShape as Shape4,
    a.strides,
    dilations as number,
    a.pad,
    a.dimRoundingMode,
    false,
    'channelsLast',
  );
}

/** Conv2D / FusedConv2D forward; null when the fast path does not apply. */
function forward(tf: TfLike, args: KernelArgs, ctx: KernelContext) {
  const x = f32Input(args, 'x');
  const filter = f32Input(args, 'filter');
  const a = attrsOf(args);
  if (x == null || filter == null || !channelsLast(tf, a.dataFormat)) return null;
  const info = convInfo(tf, x.shape, filter.shape, a, a.dilations ?? 1);
  const g = geometryOf(info);
  // While a gradient is recorded, the filter gradient of this input may reuse the forward's patches.
  const recording = (tf.engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth > 0;
  const keepFor = recording ? (args.inputs.x?.dataId ?? null) : null;
  const y = ctx.gemm
    ? conv2dForwardWasm(ctx.gemm, x.values, filter.values, g, keepFor)
    : conv2dForward(x.values, filter.values, g);
  return { info, y };
}

const FUSED_ACTIVATIONS = new Set(['linear', 'relu', 'relu6']);

/** Adds a [C] (or scalar) bias and applies linear/relu/relu6 in place, float32 step by step. */
function biasAndActivate(y: Float32Array, channels: number, bias: Float32Array | null, activation: string) {
  if (bias != null) {
    if (bias.length === 1) {
      const v = bias[0];
      for (let i = 0; i < y.length; i++) y[i] += v;
    } else {
      for (let i = 0; i < y.length; i += channels) {
        for (let c = 0; c < channels; c++) y[i + c] += bias[c];
      }
    }
  }
  // The stock relu/relu6 expressions (fused_utils), so -0 and NaN come out the same.
  if (activation === 'relu') {
    for (let i = 0; i < y.length; i++) y[i] = Math.max(0, y[i]);
  } else if (activation === 'relu6') {
    for (let i = 0; i < y.length; i++) y[i] = Math.min(Math.max(0, y[i]), 6);
  }
}

const conv2d: FastKernelSpec = {
  kernelName: 'Conv2D',
  create: (tf, stock, ctx) => (args) => {
    const r = forward(tf, args, ctx);
    return r == null ? stock(args) : makeF32(args.backend, r.info.outShape, r.y);
  },
};

const fusedConv2d: FastKernelSpec = {
  kernelName: 'FusedConv2D',
  create: (tf, stock, ctx) => (args) => {
    const { bias, preluActivationWeights } = args.inputs;
    const a = attrsOf(args);
    const activation = (a.activation ?? 'linear') as string;
    if (!FUSED_ACTIVATIONS.has(activation) || preluActivationWeights != null) return stock(args);
    let biasValues: Float32Array | null = null;
    if (bias != null) {
      biasValues = f32(args.backend, bias);
      const outC = args.inputs.filter?.shape[3];
      const perChannel = biasValues?.length === outC && bias.shape.at(-1) === outC;
      if (biasValues == null || (biasValues.length !== 1 && !perChannel)) return stock(args);
    }
    const r = forward(tf, args, ctx);
    if (r == null) return stock(args);
    biasAndActivate(r.y, r.info.outChannels, biasValues, activation);
    return makeF32(args.backend, r.info.outShape, r.y);
  },
};

const conv2dBackpropFilter: FastKernelSpec = {
  kernelName: 'Conv2DBackpropFilter',
  create: (tf, stock, ctx) => (args) => {
    const x = f32Input(args, 'x');
    const dy = f32Input(args, 'dy');
    const a = attrsOf(args);
    if (x == null || dy == null || !channelsLast(tf, a.dataFormat)) return stock(args);
    const info = convInfo(tf, x.shape, a.filterShape, a);
    const g = geometryOf(info);
    const dw = ctx.gemm
      ? conv2dFilterGradWasm(ctx.gemm, x.values, dy.values, g, args.inputs.x?.dataId ?? null)
      : conv2dFilterGrad(x.values, dy.values, g);
    return makeF32(args.backend, info.filterShape, dw);
  },
};

const conv2dBackpropInput: FastKernelSpec = {
  kernelName: 'Conv2DBackpropInput',
  create: (tf, stock, ctx) => (args) => {
    const dy = f32Input(args, 'dy');
    const filter = f32Input(args, 'filter');
    const a = attrsOf(args);
    if (dy == null || filter == null || !channelsLast(tf, a.dataFormat) || !unitDilations(a.dilations)) {
      return stock(args);
    }
    const info = convInfo(tf, a.inputShape, filter.shape, a);
    const g = geometryOf(info);
    const dx = ctx.gemm
      ? conv2dInputGradWasm(ctx.gemm, dy.values, filter.values, g)
      : conv2dInputGrad(dy.values, filter.values, g);
    return makeF32(args.backend, info.inShape, dx);
  },
};

export function conv2dKernels(): FastKernelSpec[] {
  return [conv2d, fusedConv2d, conv2dBackpropFilter, conv2dBackpropInput];
}
