/**
 * The leading layers a quantized narrow MobileNet keeps in float by default (`--keep-float stem`,
 * `quantizeModel`'s default). When the image-reading Conv writes fewer than 16 channels (α0.25),
 * the stem through the first pointwise Conv that writes 32 or more channels — V1 α0.25: conv1
 * and blocks 1–2 — stays float, and quantization starts after it. Compared on the fine-tuned V1
 * α0.25 224 px of `bench quantize` with the same quantizer and every layer in int8 (figures in
 * docs/benchmarks.md, "Int8 quantization"):
 *  - faithfulness: those narrow, high-resolution layers carry most of the int8 error: int8
 *    answers differ from fp32 on less than half as many photos with the stem in float; longer
 *    float prefixes gained little more and cost file size;
 *  - speed: onnxruntime's int8 kernels are slower than its float ones on narrow layers (the
 *    3-channel first Conv is an im2col GEMM; int8 depthwise kernels are slower than float's NCHWc
 *    ones at these widths), so the prefix is also faster than all-int8;
 *  - size: the prefix's ~2,000 weights stay float32, a fraction of a percent of the fp32 size.
 * It has to be a prefix: a float Conv between two quantized tensors would be re-quantized by
 * onnxruntime at load time (its QDQ weight/bias transformer), and an island would add a
 * DequantizeLinear/QuantizeLinear pair. Keeping the prefix's weights int8 behind a
 * DequantizeLinear (weight-only) was measured and dropped: onnxruntime then cannot reorder them
 * for its NCHWc kernels (a depthwise Conv became several times slower) and the prefix loses bias correction.
 * Wider stems (16+ channels, α ≥ 0.35) run fast in int8 and keep every layer quantized.
 */
import type { OnnxModel, OnnxNode } from '../onnx/onnx-proto.ts';
import { inputChain, intAttr } from './graph-tools.ts';

/** A first Conv narrower than this marks a narrow network. */
export const NARROW_STEM_CHANNELS = 16;
/** The float prefix ends with the first pointwise Conv at least this wide. */
export const PREFIX_END_CHANNELS = 32;

const nodeName = (n: OnnxNode) => n.name || n.outputs[0];

/**
 * Names of the Conv nodes of the float prefix, in graph order; [] when the network is not narrow
 * or its first layers are not a plain chain from the image.
 */
export function slowInt8Stem(model: OnnxModel): string[] {
  const inits = new Map(model.initializers.map((t) => [t.name, t]));
  const prefix: string[] = [];
  // The single-reader chain from the graph input runs through the layers that move or rescale
  // pixels (Cast, Transpose, Pad, Mul/Add by constants, activations); collect its Conv nodes.
  for (const n of inputChain(model)) {
    if (n.opType !== 'Conv') continue;
    const w = inits.get(n.inputs[1]);
    if (w?.dims.length !== 4) break;
    const [outChannels, inPerGroup, kh, kw] = w.dims;
    const group = intAttr(n, 'group', 1);
    if (prefix.length === 0 && (group !== 1 || inPerGroup > 4 || outChannels >= NARROW_STEM_CHANNELS))
      return [];
    prefix.push(nodeName(n));
    if (prefix.length > 1 && group === 1 && kh === 1 && kw === 1 && outChannels >= PREFIX_END_CHANNELS)
      return prefix;
  }
  // The chain ended first (a residual branch): a prefix must end on the chain; a lone first Conv
  // between the quantized pixels and a quantized layer would be re-quantized by onnxruntime.
  return prefix.length >= 2 ? prefix : [];
}
