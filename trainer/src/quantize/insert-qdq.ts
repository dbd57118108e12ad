/**
 * Rewrites a prepared fp32 graph into QDQ form that onnxruntime's CPU provider fuses into integer
 * kernels (its QDQ selector/action rules: DQ → Conv → Q becomes QLinearConv, DQ,DQ → Add → Q
 * QLinearAdd, DQ → GlobalAveragePool → Q QLinearGlobalAveragePool, DQ → Gemm (→ Q) QGemm, and
 * Q/DQ around Reshape/Transpose/MaxPool are dropped):
 *  - activations: uint8, asymmetric, one scale per tensor from calibration. Each quantized value
 *    gets one QuantizeLinear right after its producer and a dedicated DequantizeLinear per reader,
 *    so the producer's only consumer is its Q (fusion needs that);
 *  - weights: int8, symmetric, one scale per output channel (DequantizeLinear `axis`, opset 13);
 *  - biases: int32 with scale = input scale × weight scale, so the kernel adds them exactly;
 *  - a Relu/Clip right after a quantized Conv or Add is removed and that Conv/Add's output takes
 *    the activation's calibrated range: saturating at [0, max] in uint8 *is* the ReLU/ReLU6;
 *  - a uint8 image input read through Cast(float) is already quantized (scale 1, zero point 0):
 *    the Cast goes, the Transpose/Pad after it run on bytes, and the first Conv reads the pixels.
 * uint8 activations with int8 weights (U8S8) are what onnxruntime's x86 kernels are built for.
 */
import type { OnnxModel, OnnxNode, TensorInit } from '../onnx/onnx-proto.ts';
import { DataType } from '../onnx/onnx-proto.ts';
import { type Range, uint8Params } from './calibration-stats.ts';
import {
  byteInit,
  consumersOf,
  floatAttr,
  floatInit,
  floatValues,
  intAttr,
  nameAllocator,
  producersOf,
  tensorFloats,
} from './graph-tools.ts';
import type { RowMoments } from './input-moments.ts';
import { PASS_THROUGH_OPS } from './prepare-graph.ts';
import { quantizeBias, quantizeWeights } from './quantize-weights.ts';

export type QdqReport = {
  /** Nodes now running as integer kernels, by op type. */
  quantized: Record<string, number>;
  /** Conv/Gemm/MatMul nodes left in float (kept on request or not quantizable). */
  floatNodes: string[];
  /** ReLU/Clip nodes absorbed into the quantization of the value before them. */
  fusedActivations: number;
  /** Bias values that did not fit int32 at input scale × weight scale and were clamped. */
  clampedBiases: number;
};

/** Where a quantized Conv/Gemm's output and int32 bias are, for bias correction. */
export type BiasedLayer = {
  node: string;
  /** The layer's output (before any fused activation) in the fp32 graph and in the QDQ graph. */
  fp32Output: string;
  qdqOutput: string;
  bias: string;
  biasScales: Float32Array;
};

type QuantParams = {
  q: string;
  scale: string;
  zeroPoint: string;
  scaleValue: number;
  zeroPointValue: number;
};

const nodeName = (n: OnnxNode) => n.name || n.outputs[0];
const WEIGHTED_OPS = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

/**
 * A depthwise Conv (one input channel per group) runs in onnxruntime's QLinearConv depthwise
 * kernel, which widens uint8 inputs and int8 weights to int16 before multiplying into int32
 * (MlasConvDepthwiseKernelAvx2: no VPMADDUBSW, so no int16 saturation): it keeps the full 8-bit
 * weight range whatever `weightBits` says; with 9 weights per channel, the finer step is what
 * keeps int8 answers close to fp32's (docs/benchmarks.md, "Int8 quantization").
 */
export function isDepthwise(n: OnnxNode, weight: TensorInit): boolean {
  const group = intAttr(n, 'group', 1);
  return n.opType === 'Conv' && group > 1 && weight.dims[1] === 1 && weight.dims[0] === group;
}

export function insertQdq(
  model: OnnxModel,
  ranges: Map<string, Range>,
  keepFloat: ReadonlySet<string>,
  weightBits: 7 | 8 = 7,
  moments?: ReadonlyMap<string, RowMoments>,
): QdqReport & { layers: BiasedLayer[] } {
  const fresh = nameAllocator(model);
  const inits = new Map(model.initializers.map((t) => [t.name, t]));
  const floats = floatValues(model);
  const graphOutputs = new Set(model.outputs.map((o) => o.name));
  const isActivation = (v: string | undefined) => !!v && floats.has(v) && !inits.has(v);
  const floatInitOf = (v: string | undefined) => {
    const t = v ? inits.get(v) : undefined;
    return t?.dataType === DataType.FLOAT ? t : undefined;
  };
  const report: QdqReport = { quantized: {}, floatNodes: [], fusedActivations: 0, clampedBiases: 0 };

  /** Whether a node becomes an integer kernel; decides the QDQ around it. */
  const quantizable = (n: OnnxNode): boolean => {
    if (keepFloat.has(nodeName(n))) return false;
    const [a, b, c] = n.inputs;
    switch (n.opType) {
      case 'Conv':
        return isActivation(a) && !!floatInitOf(b) && (!c || !!floatInitOf(c));
      case 'Gemm':
        return (
          isActivation(a) &&
          floatInitOf(b)?.dims.length === 2 &&
          (!c || floatInitOf(c)?.dims.length === 1) &&
          intAttr(n, 'transA', 0) === 0 &&
          floatAttr(n, 'alpha', 1) === 1 &&
          floatAttr(n, 'beta', 1) === 1
        );
      case 'MatMul':
        return isActivation(a) && floatInitOf(b)?.dims.length === 2;
      case 'Add':
        return n.inputs.length === 2 && isActivation(a) && isActivation(b);
      case 'GlobalAveragePool':
      case 'AveragePool':
        return isActivation(a);
      default:
        return false;
    }
  };

  const fp32Outputs = new Map(model.nodes.map((n) => [n, n.outputs[0]]));
  fuseActivations(model, ranges, keepFloat, quantizable, report);
  const layers: BiasedLayer[] = [];

  const quant = new Map<string, QuantParams>();
  const needsQ = new Set<string>();
  const inheritFrom = new Map<string, string>();
  const removed = new Set<OnnxNode>();
  rewriteUint8Input(model, keepFloat, fresh, quant, removed);

  const need = (v: string, from?: string) => {
    if (quant.has(v) || graphOutputs.has(v)) return;
    needsQ.add(v);
    if (from) inheritFrom.set(v, from);
  };
  const isQuantized = (v: string) => quant.has(v) || needsQ.has(v);
  const quantizedNodes = new Set<OnnxNode>();
  for (const n of model.nodes) {
    if (removed.has(n)) continue;
    if (quantizable(n)) {
      quantizedNodes.add(n);
      report.quantized[n.opType] = (report.quantized[n.opType] ?? 0) + 1;
      need(n.inputs[0]);
      if (n.opType === 'Add') need(n.inputs[1]);
      // Gemm/MatMul outputs stay float: the head's Softmax reads them, and QGemm can output float.
      if (n.opType !== 'Gemm' && n.opType !== 'MatMul') need(n.outputs[0]);
    } else if (PASS_THROUGH_OPS.has(n.opType) && !keepFloat.has(nodeName(n)) && isQuantized(n.inputs[0])) {
      need(n.outputs[0], n.inputs[0]);
    } else if (['Conv', 'Gemm', 'MatMul'].includes(n.opType)) {
      report.floatNodes.push(nodeName(n));
    }
  }

  const newInits: TensorInit[] = [];
  const out: OnnxNode[] = [];
  const paramsOf = (v: string): { scale: number; zeroPoint: number } => {
    const from = inheritFrom.get(v);
    if (from) {
      const p = quant.get(from)!;
      return { scale: p.scaleValue, zeroPoint: p.zeroPointValue };
    }
    const range = ranges.get(v);
    if (!range) throw new Error(`no calibration range for ${v}`);
    return uint8Params(range);
  };
  const emitQ = (v: string) => {
    const { scale, zeroPoint } = paramsOf(v);
    const p: QuantParams = {
      q: fresh(`${v}_q`),
      scale: fresh(`${v}_s`),
      zeroPoint: fresh(`${v}_zp`),
      scaleValue: scale,
      zeroPointValue: zeroPoint,
    };
    newInits.push(floatInit(p.scale, [], [scale]), byteInit(p.zeroPoint, [], [zeroPoint], false));
    // Q/DQ nodes stay unnamed: names are optional (onnx.proto NodeProto.name) and would add a
    // noticeable share to the file of a small model.
    out.push({ name: '', opType: 'QuantizeLinear', inputs: [v, p.scale, p.zeroPoint], outputs: [p.q] });
    quant.set(v, p);
  };
  const emitDq = (v: string): string => {
    const p = quant.get(v)!;
    const name = fresh(`${v}_dq`);
    out.push({ name: '', opType: 'DequantizeLinear', inputs: [p.q, p.scale, p.zeroPoint], outputs: [name] });
    return name;
  };

  const readers = consumersOf(model);
  /** Whether `n`'s output reaches a QuantizeLinear through single-reader ReLU/Clip nodes only. */
  const reachesQuantize = (n: OnnxNode): boolean => {
    for (let v = n.outputs[0]; ; ) {
      if (needsQ.has(v)) return true;
      const next = (readers.get(v) ?? []).filter((r) => !removed.has(r));
      if (next.length !== 1 || (next[0].opType !== 'Relu' && next[0].opType !== 'Clip')) return false;
      v = next[0].outputs[0];
    }
  };
  /**
   * A Conv/Gemm kept in float that reads a dequantized value: onnxruntime >= 1.20's
   * WeightBiasQuantization would quantize its float weights at load time — to one int8 scale for
   * the whole tensor — whenever its input comes straight from a DequantizeLinear and its output
   * reaches a QuantizeLinear through ReLU/Clip only; with that one coarse scale far more answers
   * differ from fp32 than with the layer in int8 (docs/benchmarks.md). A Clip to the dequantized value's
   * own range (so a no-op) between the two breaks the pattern and the layer really runs in float.
   */
  const emitFloatGuard = (v: string): string => {
    const p = quant.get(v)!;
    const lo = fresh(`${v}_lo`);
    const hi = fresh(`${v}_hi`);
    newInits.push(
      floatInit(lo, [], [(0 - p.zeroPointValue) * p.scaleValue]),
      floatInit(hi, [], [(255 - p.zeroPointValue) * p.scaleValue]),
    );
    const name = fresh(`${v}_float`);
    out.push({ name: '', opType: 'Clip', inputs: [emitDq(v), lo, hi], outputs: [name] });
    return name;
  };

  for (const i of model.inputs) if (needsQ.has(i.name)) emitQ(i.name);
  for (const n of model.nodes) {
    if (removed.has(n)) continue;
    if (quantizedNodes.has(n) && (n.opType === 'Conv' || n.opType === 'Gemm' || n.opType === 'MatMul')) {
      const inputScale = quant.get(n.inputs[0])!.scaleValue;
      const axis = n.opType === 'Conv' || (n.opType === 'Gemm' && intAttr(n, 'transB', 0) === 1) ? 0 : 1;
      const bias = n.inputs[2] ? tensorFloats(inits.get(n.inputs[2])!) : undefined;
      const w = quantizeWeights(
        inits.get(n.inputs[1])!,
        axis,
        n.opType !== 'Conv',
        weightBits === 8 || isDepthwise(n, inits.get(n.inputs[1])!)
          ? 'full'
          : n.opType === 'Conv'
            ? 'conv'
            : 'gemm',
        inputScale,
        bias,
        fresh,
        newInits,
        out,
        moments?.get(nodeName(n)),
      );
      n.inputs[1] = w.dq;
      if (n.inputs[2]) {
        const b = quantizeBias(inits.get(n.inputs[2])!, inputScale, w.scales, fresh, newInits, out);
        report.clampedBiases += b.clamped;
        n.inputs[2] = b.dq;
        layers.push({
          node: nodeName(n),
          fp32Output: fp32Outputs.get(n)!,
          qdqOutput: n.outputs[0],
          bias: b.q,
          biasScales: b.scales,
        });
      }
    }
    const guarded = !quantizedNodes.has(n) && WEIGHTED_OPS.has(n.opType) && reachesQuantize(n);
    n.inputs = n.inputs.map((v, i) =>
      !quant.has(v) ? v : i === 0 && guarded ? emitFloatGuard(v) : emitDq(v),
    );
    out.push(n);
    for (const o of n.outputs) if (needsQ.has(o)) emitQ(o);
  }
  model.nodes = out;
  model.initializers.push(...newInits);
  const read = new Set(model.nodes.flatMap((n) => n.inputs));
  model.initializers = model.initializers.filter((t) => read.has(t.name));
  model.valueInfo = [];
  return { ...report, layers };
}

function fuseActivations(
  model: OnnxModel,
  ranges: Map<string, Range>,
  keepFloat: ReadonlySet<string>,
  quantizable: (n: OnnxNode) => boolean,
  report: QdqReport,
): void {
  const consumers = consumersOf(model);
  const producers = producersOf(model);
  const inits = new Map(model.initializers.map((t) => [t.name, t]));
  const graphOutputs = new Set(model.outputs.map((o) => o.name));
  const bound = (n: OnnxNode, i: number, fallback: number): number | null => {
    if (!n.inputs[i]) return fallback;
    const t = inits.get(n.inputs[i]);
    return t?.dataType === DataType.FLOAT ? tensorFloats(t)[0] : null;
  };
  const removed = new Set<OnnxNode>();
  for (const act of model.nodes) {
    if ((act.opType !== 'Relu' && act.opType !== 'Clip') || keepFloat.has(nodeName(act))) continue;
    const src = producers.get(act.inputs[0]);
    if (!src || (src.opType !== 'Conv' && src.opType !== 'Add') || !quantizable(src)) continue;
    if (consumers.get(act.inputs[0])?.length !== 1 || graphOutputs.has(act.inputs[0])) continue;
    // uint8 ranges always include 0, so only activations whose lower bound is <= 0 can be absorbed.
    const lo = act.opType === 'Clip' ? bound(act, 1, Number.NEGATIVE_INFINITY) : 0;
    const hi = act.opType === 'Clip' ? bound(act, 2, Number.POSITIVE_INFINITY) : Number.POSITIVE_INFINITY;
    if (lo === null || hi === null || lo > 0 || hi < 0 || !ranges.has(act.outputs[0])) continue;
    src.outputs = [act.outputs[0]];
    removed.add(act);
    report.fusedActivations++;
  }
  model.nodes = model.nodes.filter((n) => !removed.has(n));
}

function rewriteUint8Input(
  model: OnnxModel,
  keepFloat: ReadonlySet<string>,
  fresh: (base: string) => string,
  quant: Map<string, QuantParams>,
  removed: Set<OnnxNode>,
): void {
  const input = model.inputs.find((i) => i.elemType === DataType.UINT8);
  if (!input) return;
  const consumers = consumersOf(model);
  const inits = new Map(model.initializers.map((t) => [t.name, t]));
  const graphOutputs = new Set(model.outputs.map((o) => o.name));
  const readers = consumers.get(input.name) ?? [];
  const cast = readers[0];
  if (readers.length !== 1 || cast.opType !== 'Cast' || intAttr(cast, 'to', 0) !== DataType.FLOAT) return;
  if (keepFloat.has(nodeName(cast)) || graphOutputs.has(cast.outputs[0])) return;
  let value = cast.outputs[0];
  let bytes = input.name;
  for (;;) {
    const next = consumers.get(value) ?? [];
    const n = next[0];
    if (next.length !== 1 || graphOutputs.has(n?.outputs[0]) || keepFloat.has(nodeName(n))) break;
    if (n.opType === 'Pad') {
      const mode = n.attributes?.find((a) => a.name === 'mode');
      const fill = n.inputs[2] ? inits.get(n.inputs[2]) : undefined;
      if ((mode && (mode.type !== 'string' || mode.value !== 'constant')) || (n.inputs[2] && !fill)) break;
      // The fill value becomes a byte: our exporter pads with pixel 127.5 (0 after scaling), which
      // rounds to 128, an error of 0.5/127.5 at the border only — below one int8 step.
      const v = fill ? tensorFloats(fill)[0] : 0;
      const name = fresh(`${n.outputs[0]}_fill_uint8`);
      model.initializers.push(byteInit(name, [], [Math.min(255, Math.max(0, Math.round(v)))], false));
      n.inputs = [bytes, n.inputs[1], name];
    } else if (n.opType === 'Transpose') {
      n.inputs = [bytes];
    } else break;
    value = n.outputs[0];
    bytes = fresh(`${value}_uint8`);
    n.outputs = [bytes];
  }
  removed.add(cast);
  const scale = fresh('pixel_scale');
  const zeroPoint = fresh('pixel_zero_point');
  model.initializers.push(floatInit(scale, [], [1]), byteInit(zeroPoint, [], [0], false));
  quant.set(value, { q: bytes, scale, zeroPoint, scaleValue: 1, zeroPointValue: 0 });
}
