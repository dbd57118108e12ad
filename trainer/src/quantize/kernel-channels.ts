/**
 * Widens a narrow stem of a quantized graph to a channel count onnxruntime's fast int8 kernels
 * accept. onnxruntime runs a QLinearConv with int8 weights in its symmetric-weight kernels
 * (MlasConvSym*) only when the shape allows: a depthwise Conv needs a multiple of 16 channels on
 * x86 (8 on ARM64), a regular Conv must write at least 16. Otherwise it falls back to a generic
 * depthwise loop, or an im2col GEMM with a separate requantization pass. At α0.25 a MobileNet's
 * first Conv writes 8 channels, which an 8-channel depthwise Conv reads: the two slowest int8
 * layers of the network. Padding them to 16 channels that are zero by construction keeps the
 * float function exactly: the first Conv gets zero output channels (zero weights and bias), the
 * depthwise Conv carries them (zero weights and bias), and the Conv after it reads them with zero
 * weights, so nothing they hold reaches the output. In onnxruntime's profiler both layers get
 * markedly faster (docs/benchmarks.md, "Int8 quantization").
 *
 * Not done: padding the image from 3 to 4 channels would let the first Conv use the symmetric
 * kernel too, but onnxruntime's Pad on the channels-last innermost axis costs more than it saves.
 * Only the int8 graph is widened (the fp32 model keeps its shape); it costs a few hundred zero
 * weights.
 */
import type { OnnxModel, OnnxNode, TensorInit } from '../onnx/onnx-proto.ts';
import { DataType } from '../onnx/onnx-proto.ts';
import { floatInit, inputChain, intAttr, nameAllocator, tensorFloats } from './graph-tools.ts';

const MIN_OUTPUT_CHANNELS = 16;

const ACTIVATIONS: ReadonlySet<string | undefined> = new Set(['Relu', 'Clip']);
const PIXEL_OPS = new Set(['Cast', 'Transpose', 'Pad']);

/** Copy of an OIHW (or [O] bias) tensor with zeros added along axis 0 or 1. */
function widen(t: TensorInit, axis: 0 | 1, to: number, name: string): TensorInit {
  const data = tensorFloats(t);
  const dims = [...t.dims];
  const from = dims[axis];
  const outer = axis === 0 ? 1 : dims[0];
  const inner = data.length / (outer * from);
  dims[axis] = to;
  const out = new Float32Array(outer * to * inner);
  for (let o = 0; o < outer; o++)
    out.set(data.subarray(o * from * inner, (o + 1) * from * inner), o * to * inner);
  return floatInit(name, dims, out);
}

/** The stem's channel count before and after, when it was widened. */
export type WidenReport = { stemChannels?: [number, number] };

/** Widens in place; layers named in `keepFloat` (and the layers reading them) are left alone. */
export function widenStemChannels(model: OnnxModel, keepFloat: ReadonlySet<string> = new Set()): WidenReport {
  const report: WidenReport = {};
  const inits = new Map(model.initializers.map((t) => [t.name, t]));
  const fresh = nameAllocator(model);
  const replace = (n: OnnxNode, index: number, t: TensorInit) => {
    model.initializers.push(t);
    inits.set(t.name, t);
    n.inputs[index] = t.name;
  };
  // From the image, through ops that only move pixels, to the narrow stem:
  // conv -> activation -> depthwise -> activation -> conv, each the only reader of the one before.
  const chain = inputChain(model, 13);
  const at = chain.findIndex((n) => n.opType === 'Conv');
  if (at < 0 || at > 7 || chain.slice(0, at).some((n) => !PIXEL_OPS.has(n.opType))) return report;
  const [conv, act1, dw, act2, next] = chain.slice(at, at + 5);
  const stem = inits.get(conv.inputs[1]);
  if (
    !stem ||
    stem.dataType !== DataType.FLOAT ||
    stem.dims.length !== 4 ||
    intAttr(conv, 'group', 1) !== 1 ||
    keepFloat.has(conv.name || conv.outputs[0])
  )
    return report;
  const narrow = stem.dims[0];
  if (narrow >= MIN_OUTPUT_CHANNELS) return report;
  const dwW = ACTIVATIONS.has(act1?.opType) && dw?.opType === 'Conv' ? inits.get(dw.inputs[1]) : undefined;
  const nextW =
    ACTIVATIONS.has(act2?.opType) && next?.opType === 'Conv' ? inits.get(next.inputs[1]) : undefined;
  if (
    !dwW ||
    !nextW ||
    intAttr(dw, 'group', 1) !== narrow ||
    dwW.dims[0] !== narrow ||
    dwW.dims[1] !== 1 ||
    intAttr(next, 'group', 1) !== 1 ||
    nextW.dims[1] !== narrow ||
    [dw, next].some((n) => keepFloat.has(n.name || n.outputs[0]))
  )
    return report;
  const to = MIN_OUTPUT_CHANNELS;
  const widenBias = (n: OnnxNode) => {
    const b = n.inputs[2] ? inits.get(n.inputs[2]) : undefined;
    if (b) replace(n, 2, widen(b, 0, to, fresh(`${b.name}_c${to}`)));
  };
  replace(conv, 1, widen(stem, 0, to, fresh(`${stem.name}_c${to}`)));
  widenBias(conv);
  replace(dw, 1, widen(dwW, 0, to, fresh(`${dwW.name}_c${to}`)));
  widenBias(dw);
  dw.attributes = [
    ...(dw.attributes ?? []).filter((a) => a.name !== 'group'),
    { name: 'group', type: 'int', value: to },
  ];
  replace(next, 1, widen(nextW, 1, to, fresh(`${nextW.name}_c${to}`)));
  report.stemChannels = [narrow, to];
  return report;
}
