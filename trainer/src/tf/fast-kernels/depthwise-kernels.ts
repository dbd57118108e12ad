/**
 * Fast 'cpu' kernels for DepthwiseConv2dNative and its two gradients: NHWC float32 with channel
 * multiplier 1 (what tf.layers.depthwiseConv2d uses by default); other multipliers, dtypes or (for the
 * gradients) dilations go to the stock kernel. Geometry comes from tfjs's computeConv2DInfo.
 */
import { depthwiseFilterGrad, depthwiseForward, depthwiseInputGrad } from './depthwise-math.ts';
import {
  depthwiseFilterGradWasm,
  depthwiseForwardWasm,
  depthwiseInputGradWasm,
  depthwiseWasmApplies,
} from './depthwise-wasm.ts';
import {
  attrsOf,
  type FastKernelSpec,
  f32Input,
  geometryOf,
  makeF32,
  type Shape4,
  type TfLike,
  unitDilations,
} from './kernel-util.ts';

function depthwiseInfo(tf: TfLike, inShape: Shape4, filterShape: Shape4, attrs: Record<string, unknown>) {
  return tf.backend_util.computeConv2DInfo(
    inShape,
    filterShape,
    attrs.strides as [number, number],
    (attrs.dilations ?? 1) as [number, number],
    attrs.pad as 'same',
    attrs.dimRoundingMode as 'floor' | undefined,
    true,
  );
}

const depthwise: FastKernelSpec = {
  kernelName: 'DepthwiseConv2dNative',
  create: (tf, stock, ctx) => (args) => {
    const x = f32Input(args, 'x');
    const filter = f32Input(args, 'filter');
    const a = attrsOf(args);
    // Dilated and strided at once is an error the stock kernel reports; let it.
    const dilatedAndStrided = !unitDilations(a.dilations) && !unitDilations(a.strides);
    if (x == null || filter == null || filter.shape[3] !== 1 || dilatedAndStrided) return stock(args);
    const info = depthwiseInfo(tf, x.shape as Shape4, filter.shape as Shape4, a);
    const g = geometryOf(info);
    const y =
      ctx.gemm && depthwiseWasmApplies(g)
        ? depthwiseForwardWasm(ctx.gemm, x.values, filter.values, g)
        : depthwiseForward(x.values, filter.values, g);
    return makeF32(args.backend, info.outShape, y);
  },
};

const depthwiseBackpropFilter: FastKernelSpec = {
  kernelName: 'DepthwiseConv2dNativeBackpropFilter',
  create: (tf, stock, ctx) => (args) => {
    const x = f32Input(args, 'x');
    const dy = f32Input(args, 'dy');
    const a = attrsOf(args);
    const filterShape = a.filterShape as Shape4;
    if (x == null || dy == null || filterShape[3] !== 1 || !unitDilations(a.dilations)) return stock(args);
    const info = depthwiseInfo(tf, x.shape as Shape4, filterShape, a);
    const g = geometryOf(info);
    const dw =
      ctx.gemm && depthwiseWasmApplies(g)
        ? depthwiseFilterGradWasm(ctx.gemm, x.values, dy.values, g)
        : depthwiseFilterGrad(x.values, dy.values, g);
    return makeF32(args.backend, info.filterShape, dw);
  },
};

const depthwiseBackpropInput: FastKernelSpec = {
  kernelName: 'DepthwiseConv2dNativeBackpropInput',
  create: (tf, stock, ctx) => (args) => {
    const dy = f32Input(args, 'dy');
    const filter = f32Input(args, 'filter');
    const a = attrsOf(args);
    if (dy == null || filter == null || filter.shape[3] !== 1 || !unitDilations(a.dilations))
      return stock(args);
    const info = depthwiseInfo(tf, a.inputShape as Shape4, filter.shape as Shape4, a);
    const g = geometryOf(info);
    const dx =
      ctx.gemm && depthwiseWasmApplies(g)
        ? depthwiseInputGradWasm(ctx.gemm, dy.values, filter.values, g)
        : depthwiseInputGrad(dy.values, filter.values, g);
    return makeF32(args.backend, info.inShape, dx);
  },
};

export function depthwiseKernels(): FastKernelSpec[] {
  return [depthwise, depthwiseBackpropFilter, depthwiseBackpropInput];
}
