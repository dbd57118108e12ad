/**
 * Normalises an fp32 classifier before quantization: checks it is an image classifier, lifts it to
 * opset 13 (per-channel QuantizeLinear/DequantizeLinear need `axis`, ONNX opset 13), drops
 * inference identities, folds BatchNormalization into the Conv before it, and refuses operators the
 * quantizer does not know — naming them.
 */
import { EdgeloopError } from '@edgeloop/shared';
import { ONNX_FEATURES_NAME } from '../onnx/export-onnx.ts';
import type { OnnxModel, OnnxNode } from '../onnx/onnx-proto.ts';
import { DataType } from '../onnx/onnx-proto.ts';
import {
  attr,
  consumersOf,
  floatAttr,
  floatInit,
  int64Init,
  nameAllocator,
  producersOf,
  renameInputs,
  tensorFloats,
} from './graph-tools.ts';

/** Ops given QDQ and run as integer kernels by onnxruntime (QLinearConv, QGemm, QLinearAdd, …). */
export const QUANTIZED_OPS = new Set(['Conv', 'Gemm', 'MatMul', 'Add', 'GlobalAveragePool', 'AveragePool']);
/** Ops that move or select values: they keep their input's quantization (ORT drops their Q/DQ). */
export const PASS_THROUGH_OPS = new Set([
  'MaxPool',
  'Reshape',
  'Transpose',
  'Squeeze',
  'Unsqueeze',
  'Flatten',
]);
/** Ops left in float (cheap, or the head's softmax), and ops removed or folded here. */
const FLOAT_OPS = new Set([
  'Relu',
  'Clip',
  'Softmax',
  'Sigmoid',
  'HardSigmoid',
  'HardSwish',
  'LeakyRelu',
  'Mul',
  'Sub',
  'Div',
  'Cast',
  'Pad',
  'Shape',
  'Gather',
  'Concat',
  'Constant',
  'ReduceMean',
  'BatchNormalization',
  'Identity',
  'Dropout',
]);

export const MIN_OPSET = 13;

export type ClassifierShape = { layout: 'NHWC' | 'NCHW'; height: number; width: number; classes: number };

/**
 * One image input ([N,H,W,3] or [N,3,H,W], static H and W) and one [N, classes] float output,
 * optionally followed by the float `features` output our exporter adds (export-onnx.ts).
 */
export function classifierShape(model: OnnxModel): ClassifierShape {
  const notClassifier = (why: string): never => {
    throw new EdgeloopError('MODEL_INVALID', `not an image classifier: ${why}`);
  };
  const inits = new Set(model.initializers.map((t) => t.name));
  const inputs = model.inputs.filter((i) => !inits.has(i.name));
  if (inputs.length !== 1) notClassifier(`expected one input, found ${inputs.length}`);
  const extra = model.outputs.slice(1);
  if (
    model.outputs.length === 0 ||
    extra.some((o) => o.name !== ONNX_FEATURES_NAME || o.elemType !== DataType.FLOAT)
  )
    notClassifier(
      `expected one output (and optionally a float '${ONNX_FEATURES_NAME}'), found ${model.outputs.map((o) => o.name).join(', ')}`,
    );
  const [input] = inputs;
  const shape = input.shape ?? [];
  if (shape.length !== 4) notClassifier(`input ${input.name} has shape [${shape}], expected 4 dims`);
  if (input.elemType !== DataType.FLOAT && input.elemType !== DataType.UINT8) {
    notClassifier(`input ${input.name} has element type ${input.elemType}, expected float32 or uint8`);
  }
  const layout =
    shape[3] === 3
      ? 'NHWC'
      : shape[1] === 3
        ? 'NCHW'
        : notClassifier(`input shape [${shape}] has no 3-channel axis`);
  const [height, width] = layout === 'NHWC' ? [shape[1], shape[2]] : [shape[2], shape[3]];
  if (typeof height !== 'number' || typeof width !== 'number' || height < 1 || width < 1) {
    notClassifier(`input ${input.name} needs a fixed height and width, got [${shape}]`);
  }
  const out = model.outputs[0];
  const outShape = out.shape ?? [];
  const classes = outShape[1];
  if (
    out.elemType !== DataType.FLOAT ||
    outShape.length !== 2 ||
    typeof classes !== 'number' ||
    classes < 2
  ) {
    notClassifier(`output ${out.name} must be float [N, classes] with at least 2 classes, got [${outShape}]`);
  }
  return { layout, height: height as number, width: width as number, classes: classes as number };
}

export function prepareGraph(model: OnnxModel): void {
  const unknown = model.nodes.filter(
    (n) =>
      (n.domain && n.domain !== 'ai.onnx') ||
      !(QUANTIZED_OPS.has(n.opType) || PASS_THROUGH_OPS.has(n.opType) || FLOAT_OPS.has(n.opType)),
  );
  if (unknown.length) {
    const byOp = new Map<string, string[]>();
    for (const n of unknown) {
      const op = n.domain ? `${n.domain}.${n.opType}` : n.opType;
      byOp.set(op, [...(byOp.get(op) ?? []), n.name || n.outputs[0]]);
    }
    const list = [...byOp].map(
      ([op, nodes]) => `${op} (${nodes.slice(0, 3).join(', ')}${nodes.length > 3 ? ', …' : ''})`,
    );
    throw new EdgeloopError('MODEL_INVALID', `cannot quantize: unsupported operator(s) ${list.join('; ')}`, {
      details: { unsupported: [...byOp.keys()] },
    });
  }
  // IR < 4 listed initializers as graph inputs too; they are constants here.
  const inits = new Set(model.initializers.map((t) => t.name));
  model.inputs = model.inputs.filter((i) => !inits.has(i.name));
  upgradeOpset(model);
  dropIdentities(model);
  foldBatchNorms(model);
}

function upgradeOpset(model: OnnxModel): void {
  if (model.opsetVersion >= MIN_OPSET) return;
  const fresh = nameAllocator(model);
  for (const n of model.nodes) {
    // Opset 13 moved Squeeze/Unsqueeze `axes` from an attribute to an input.
    const axes = attr(n, 'axes');
    if ((n.opType === 'Squeeze' || n.opType === 'Unsqueeze') && axes?.type === 'ints') {
      const name = fresh(`${n.name || n.outputs[0]}_axes`);
      model.initializers.push(int64Init(name, [axes.value.length], axes.value));
      n.inputs = [n.inputs[0], name];
      n.attributes = n.attributes?.filter((a) => a !== axes);
    }
  }
  model.opsetVersion = MIN_OPSET;
  model.opsetImports = [
    ...(model.opsetImports ?? []).filter((o) => o.domain !== '' && o.domain !== 'ai.onnx'),
    { domain: '', version: MIN_OPSET },
  ];
  if (model.irVersion < 7) model.irVersion = 7;
}

function dropIdentities(model: OnnxModel): void {
  const outputs = new Set(model.outputs.map((o) => o.name));
  model.nodes = model.nodes.filter((n) => {
    if (n.opType !== 'Identity' && n.opType !== 'Dropout') return true;
    if (outputs.has(n.outputs[0])) return true;
    renameInputs(model, n.outputs[0], n.inputs[0]);
    return false;
  });
}

/** BatchNormalization(Conv(x)) = Conv'(x): W' = W * g / sqrt(v + eps), b' = (b - mean) * that + beta. */
function foldBatchNorms(model: OnnxModel): void {
  const inits = new Map(model.initializers.map((t) => [t.name, t]));
  const consumers = consumersOf(model);
  const producers = producersOf(model);
  const graphOutputs = new Set(model.outputs.map((o) => o.name));
  const fresh = nameAllocator(model);
  const removed = new Set<OnnxNode>();
  for (const bn of model.nodes) {
    if (bn.opType !== 'BatchNormalization' || bn.outputs.length !== 1) continue;
    const conv = producers.get(bn.inputs[0]);
    const params = bn.inputs.slice(1).map((i) => inits.get(i));
    if (conv?.opType !== 'Conv' || consumers.get(bn.inputs[0])?.length !== 1) continue;
    if (graphOutputs.has(bn.inputs[0]) || params.some((p) => !p)) continue;
    const w = inits.get(conv.inputs[1]);
    const b = conv.inputs[2] ? inits.get(conv.inputs[2]) : undefined;
    if (!w || (conv.inputs[2] && !b)) continue;
    const [gamma, beta, mean, variance] = params.map((p) => tensorFloats(p!));
    const eps = floatAttr(bn, 'epsilon', 1e-5);
    const weights = tensorFloats(w);
    const bias = b ? tensorFloats(b) : new Float32Array(gamma.length);
    const perOut = weights.length / gamma.length;
    for (let o = 0; o < gamma.length; o++) {
      const mul = gamma[o] / Math.sqrt(variance[o] + eps);
      for (let j = o * perOut; j < (o + 1) * perOut; j++) weights[j] *= mul;
      bias[o] = (bias[o] - mean[o]) * mul + beta[o];
    }
    const wName = fresh(`${conv.inputs[1]}_bnfolded`);
    const bName = fresh(`${conv.name || conv.outputs[0]}_bias_bnfolded`);
    model.initializers.push(floatInit(wName, w.dims, weights), floatInit(bName, [gamma.length], bias));
    conv.inputs = [conv.inputs[0], wName, bName];
    conv.outputs = [bn.outputs[0]];
    removed.add(bn);
  }
  model.nodes = model.nodes.filter((n) => !removed.has(n));
  // Drop initializers nothing reads any more (the unfolded weights and BN parameters).
  const read = new Set(model.nodes.flatMap((n) => n.inputs));
  model.initializers = model.initializers.filter((t) => read.has(t.name));
}
