/**
 * Weights and biases of a quantized Conv/Gemm/MatMul as initializers behind DequantizeLinear:
 * int8 symmetric per output channel, and int32 biases at input scale x weight scale (the scale
 * onnxruntime's integer kernels accumulate in, so the bias is added exactly).
 */
import type { OnnxNode, TensorInit } from '../onnx/onnx-proto.ts';
import { byteInit, floatInit, int32Init, tensorFloats } from './graph-tools.ts';
import { QMAX, roundWeights, rowBounds, type WeightLayout, weightRows } from './weight-rounding.ts';

/**
 * Symmetric int8 per channel along `axis` (0: first dim; 1: columns of a 2-D matrix): the range
 * and rounding of weight-rounding.ts for `layout`, with output-error-aware rounding where
 * `moments` gives a row's input second moments. A channel's scale is also kept large enough for
 * its bias to fit int32 at input scale × weight scale: "dead" channels (weights ~0, output = bias,
 * common after BatchNorm folding) would otherwise get a tiny scale and lose their bias to clamping.
 */
export function quantizeWeights(
  w: TensorInit,
  axis: number,
  withZeroPoint: boolean,
  layout: WeightLayout,
  inputScale: number,
  bias: Float32Array | undefined,
  fresh: (base: string) => string,
  inits: TensorInit[],
  out: OnnxNode[],
  moments?: (o: number) => Float64Array | undefined,
): { dq: string; scales: Float32Array } {
  const data = tensorFloats(w);
  const rows = weightRows(w.dims, layout, axis);
  const channels = rows.channels;
  const bound = rowBounds(data, rows);
  const biasFloor = (c: number) => (bias ? Math.abs(bias[c]) / (inputScale * 2 ** 30) : 0);
  const scales = Float32Array.from(bound, (m, c) => Math.max(m > 0 ? m / QMAX : 1, biasFloor(c)));
  const q = roundWeights(data, rows, scales, moments);
  const [qName, sName, zName, dq] = [`${w.name}_q`, `${w.name}_s`, `${w.name}_zp`, `${w.name}_dq`].map(fresh);
  inits.push(byteInit(qName, w.dims, q, true), floatInit(sName, [channels], scales));
  // Symmetric weights have zero point 0, DequantizeLinear's default, so Conv weights omit it;
  // onnxruntime fuses Gemm into QGemm only when B's zero point is given explicitly.
  if (withZeroPoint) inits.push(byteInit(zName, [channels], new Int8Array(channels), true));
  out.push({
    name: '',
    opType: 'DequantizeLinear',
    inputs: withZeroPoint ? [qName, sName, zName] : [qName, sName],
    outputs: [dq],
    attributes: [{ name: 'axis', type: 'int', value: axis }],
  });
  return { dq, scales };
}

export function quantizeBias(
  b: TensorInit,
  inputScale: number,
  weightScales: Float32Array,
  fresh: (base: string) => string,
  inits: TensorInit[],
  out: OnnxNode[],
): { dq: string; q: string; scales: Float32Array; clamped: number } {
  let clamped = 0;
  const data = tensorFloats(b);
  const scales = Float32Array.from(data, (_, c) => inputScale * weightScales[c]);
  const q = Int32Array.from(data, (v, c) => {
    const r = Math.round(v / scales[c]);
    if (Math.abs(r) > 2 ** 31 - 1) clamped++;
    return Math.max(-(2 ** 31 - 1), Math.min(2 ** 31 - 1, r));
  });
  const [qName, sName, dq] = [`${b.name}_q`, `${b.name}_s`, `${b.name}_dq`].map(fresh);
  inits.push(int32Init(qName, b.dims, q), floatInit(sName, [data.length], scales));
  out.push({
    name: '',
    opType: 'DequantizeLinear',
    inputs: [qName, sName],
    outputs: [dq],
    attributes: [{ name: 'axis', type: 'int', value: 0 }],
  });
  return { dq, q: qName, scales, clamped };
}
