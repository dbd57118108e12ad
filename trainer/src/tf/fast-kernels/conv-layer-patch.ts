/**
 * A `call` for tfjs-layers' Conv2D that runs a bias-free, linear 2-D convolution as the plain
 * Conv2D op instead of tfjs's fused one. Same kernel, same values; what changes is the gradient:
 * the fused op is a customGrad whose gradient function computes the input gradient and the filter
 * gradient together, always, while the Conv2D op's registered gradient hands tfjs one function per
 * input and tfjs calls only those of inputs on the path to the trained variables. A network's first
 * convolution reads the image, which needs no gradient: with the fused op tfjs computed and threw
 * away its input gradient every step (a col2im over the whole batch plus its patch products, a
 * sizeable share of a small MobileNetV2's step). Everything else (bias, activations, channels-first, other
 * backends or dtypes) runs the stock `call`.
 */
import type * as tfjs from '@tensorflow/tfjs';

type Tensor = tfjs.Tensor;
type Kwargs = Record<string, unknown>;
export type CallFn = (this: ConvLayerLike, inputs: Tensor | Tensor[], kwargs: Kwargs) => Tensor | Tensor[];

export interface ConvLayerLike {
  call: CallFn;
  edgeloopStockCall?: CallFn;
  rank?: number;
  kernel?: { read(): Tensor } | null;
  bias?: { read(): Tensor } | null;
  strides?: number[];
  padding?: string;
  dataFormat?: string;
  dilationRate?: number[];
  activation?: { getClassName(): string } | null;
}

/** The parts of tfjs the patch uses (tfjs and tfjs-node both provide them). */
export type TfConvLike = Pick<typeof tfjs, 'conv2d' | 'getBackend'>;

function one(inputs: Tensor | Tensor[]): Tensor | null {
  if (!Array.isArray(inputs)) return inputs;
  return inputs.length === 1 ? inputs[0] : null;
}

function pair(v: number[] | undefined): [number, number] | null {
  return v?.length === 2 ? [v[0], v[1]] : null;
}

export function lazyGradConv2d(tf: TfConvLike, stock: CallFn): CallFn {
  return function (this: ConvLayerLike, inputs, kwargs) {
    const x = one(inputs);
    const kernel = this.kernel?.read();
    const strides = pair(this.strides);
    const dilations = pair(this.dilationRate);
    const applies =
      x != null &&
      x.rank === 4 &&
      x.dtype === 'float32' &&
      kernel?.rank === 4 &&
      kernel.dtype === 'float32' &&
      this.rank === 2 &&
      this.bias == null &&
      this.dataFormat === 'channelsLast' &&
      (this.padding === 'same' || this.padding === 'valid') &&
      this.activation?.getClassName() === 'linear' &&
      strides != null &&
      dilations != null &&
      tf.getBackend() === 'cpu';
    if (!applies || x == null || kernel == null || strides == null || dilations == null) {
      return stock.call(this, inputs, kwargs);
    }
    // The arguments stock passes to tf.fused.conv2d (tfjs-layers conv2dWithBiasActivation).
    return tf.conv2d(
      x as tfjs.Tensor4D,
      kernel as tfjs.Tensor4D,
      strides,
      this.padding as 'same',
      'NHWC',
      dilations,
    );
  };
}
