/**
 * The layers worth keeping in float for speed (opt-in: `--keep-float stem`): a narrow network's
 * stem, where onnxruntime's int8 kernels are slower than its float ones. Measured on this repo's 2-core AVX2 (no VNNI) machines
 * with onnxruntime 1.30, MobileNet V1 α0.25 at 224 px, 1 thread, per layer (docs/benchmarks.md):
 *  - the first convolution reads 3 channels: QLinearConv runs it as an im2col GEMM with K = 27
 *    and 8 output channels, 2.4x slower than the float NCHWc direct convolution;
 *  - a depthwise convolution with few channels (8 at α0.25): the int8 depthwise kernel works on
 *    16 channels per step and builds an indirection buffer per output pixel, 4.6x slower than
 *    float at 112x112x8; from 32 channels on int8 and float depthwise are level.
 * So the stem — the image-reading Conv and the depthwise Convs right after it with fewer than 16
 * channels, plus the pointwise Conv between two of those — runs in float, and quantization starts
 * after it. The stem holds a few hundred weights, so the file barely grows. It has to be a prefix:
 * a float Conv between two quantized tensors would be re-quantized by onnxruntime at load time
 * (its QDQ weight/bias transformer), and an island would add a DequantizeLinear/QuantizeLinear pair.
 * Not the default: on the fine-tuned V1 of bench quantize it flipped 7 validation photos of 341
 * where the all-int8 model flipped 4 — the tensor quantized first is then a depthwise output.
 */
import type { OnnxModel, OnnxNode } from '../onnx/onnx-proto.ts';
import { consumersOf, intAttr } from './graph-tools.ts';

/** Depthwise convolutions narrower than this stay in float when they follow the stem. */
export const NARROW_DEPTHWISE_CHANNELS = 16;

const nodeName = (n: OnnxNode) => n.name || n.outputs[0];

/**
 * Names of the Conv nodes forming a slow-in-int8 stem, in graph order; [] when there is none (the
 * first Conv does not read the image through a plain chain, or no narrow depthwise follows it).
 */
export function slowInt8Stem(model: OnnxModel): string[] {
  const inits = new Map(model.initializers.map((t) => [t.name, t]));
  const consumers = consumersOf(model);
  const chain: OnnxNode[] = [];
  // Follow the single-reader chain from the graph input through the layers that move or rescale
  // pixels (Cast, Transpose, Pad, Mul/Add by constants, activations) collecting Conv nodes.
  let value = model.inputs[0]?.name;
  for (let guard = 0; value && guard < 64; guard++) {
    const readers = consumers.get(value) ?? [];
    if (readers.length !== 1) break;
    const n = readers[0];
    if (n.opType === 'Conv') chain.push(n);
    value = n.outputs[0];
  }
  const stem: string[] = [];
  const pending: OnnxNode[] = [];
  for (const [i, conv] of chain.entries()) {
    const w = inits.get(conv.inputs[1]);
    if (w?.dims.length !== 4) break;
    const [outChannels, inPerGroup] = w.dims;
    const group = intAttr(conv, 'group', 1);
    if (i === 0) {
      if (group !== 1 || inPerGroup > 4) return [];
      stem.push(nodeName(conv));
    } else if (group === outChannels && inPerGroup === 1 && outChannels < NARROW_DEPTHWISE_CHANNELS) {
      // Pointwise convs seen since the last narrow depthwise sit between two float layers.
      stem.push(...pending.map(nodeName), nodeName(conv));
      pending.length = 0;
    } else if (group === 1 && w.dims[2] === 1 && w.dims[3] === 1) {
      pending.push(conv);
    } else break;
  }
  // A lone first Conv between the quantized pixels and a quantized layer would be re-quantized by
  // onnxruntime (see above): not worth a float copy.
  return stem.length >= 2 ? stem : [];
}
