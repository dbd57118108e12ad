/**
 * tfjs LayersModel -> ONNX (opset 13, IR version 8), written in TypeScript with no Python at runtime.
 *
 * INPUT CONTRACT of every exported model (decided; agents rely on it):
 *  - one graph input named `input`, dtype uint8, shape [N, H, W, 3] with N the symbolic dim 'N';
 *  - the bytes are raw RGB, interleaved HWC, exactly as sharp's `.resize(W, H).removeAlpha().raw()`
 *    yields them — no normalisation on the device;
 *  - inside the graph: Cast(float) -> Transpose(NHWC -> NCHW) -> network. The training-time pixel
 *    scaling (`pixel * scale + offset`, e.g. 1/127.5 and -1 for MobileNet's [-1, 1]) is folded into
 *    the first convolution's weights and bias. Zero padding of the scaled image equals padding the raw
 *    image with pixel value -offset/scale (127.5), so that padding becomes an explicit ONNX Pad with
 *    that constant on the raw pixels and the first Conv has no pads — exact at the borders too. If the
 *    first layer is not a convolution, an explicit Mul/Add is emitted instead.
 * OUTPUT: one float32 output named `probabilities`, shape [N, numClasses] (whatever the last layer
 * produces; a 4-D output is transposed back to NHWC), and, when the network pools globally before
 * its head, a second float32 output named `features`, shape [N, channels]: the pooled penultimate
 * activations, which the agent compacts with shared/frame-embedding.ts and sends with a sample so
 * the labelling queue can tell near-copies and outliers apart. The compaction stays out of the
 * graph so the agent and `bench active-learning` run the one definition in shared/.
 *
 * Translation: BatchNorm folded into the preceding conv, ZeroPadding2D folded into the next conv's
 * pads, 'same' padding made explicit as tfjs computes it, DepthwiseConv2D as Conv with group = C,
 * ReLU6 as Clip(0, 6), GlobalAveragePool + Flatten, Dense as Gemm, Dropout dropped, Add for residuals.
 * Anything else throws UnsupportedLayerError.
 */
import type { InputSpec } from '@edgeloop/shared';
import type * as tf from '@tensorflow/tfjs';
import { OnnxExportError, UnsupportedLayerError } from './errors.ts';
import { GraphBuilder } from './graph-builder.ts';
import { convertLayer, isIdentityLayer } from './layer-converters.ts';
import { METADATA_KEYS } from './metadata.ts';
import { DataType, encodeModel } from './onnx-proto.ts';
import { materialize, rankOf, type Slot, tensor } from './values.ts';

export const ONNX_OPSET = 13;
export const ONNX_IR_VERSION = 8;
export const ONNX_INPUT_NAME = 'input';
export const ONNX_OUTPUT_NAME = 'probabilities';
/** The agent's FEATURES_OUTPUT_NAME; agent and trainer do not import each other. */
export const ONNX_FEATURES_NAME = 'features';

/** Bumped when the input/output contract or the metadata keys change (docs/model-format.md). */
export const MODEL_FORMAT_VERSION = '1';

export type OnnxExportOptions = {
  /**
   * Training-time pixel normalisation `pixel * scale + offset`, e.g. { scale: 1 / 127.5, offset: -1 }.
   * Per-channel (RGB) arrays are allowed (from-scratch training normalises by the training split's
   * mean/std); unequal channels become an explicit Mul/Add instead of being folded into the first
   * conv, because Pad's constant cannot differ per channel.
   */
  inputScaling: { scale: number | readonly number[]; offset: number | readonly number[] };
  /** Written to ModelProto.metadata_props, next to `input_spec` and `format_version`. */
  metadata: Record<string, string>;
  /**
   * The default (and what devices run) is raw uint8 NHWC pixels. 'float-nchw' writes the layout most
   * third-party classifiers use — float [N, 3, H, W] holding (pixel / 255 - mean) / std — with the
   * conversion to the training scaling as explicit Mul/Add; it exists to test the import path.
   */
  floatInput?: { mean: [number, number, number]; std: [number, number, number] };
};

function staticShape(shape: (number | null)[], what: string): number[] {
  if (shape.slice(1).some((d) => d == null)) {
    throw new OnnxExportError(`${what} must have a static shape apart from the batch dim, got [${shape}]`);
  }
  return shape.map((d) => d ?? -1);
}

/** How many layers (and model outputs) read each symbolic tensor, by tensor id. */
function countUses(model: tf.LayersModel): Map<number, number> {
  const uses = new Map<number, number>();
  const bump = (id: number) => uses.set(id, (uses.get(id) ?? 0) + 1);
  for (const layer of model.layers) {
    // An InputLayer's node lists its own output as input; that is not a reader.
    if (layer.getClassName() === 'InputLayer') continue;
    for (const node of layer.inboundNodes) for (const t of node.inputTensors) bump(t.id);
  }
  for (const t of model.outputs) bump(t.id);
  return uses;
}

/** x * scale[c] + offset[c] on the NCHW float input, broadcast over [1, 3, 1, 1]. */
function perChannelScaling(g: GraphBuilder, x: string, scales: number[], offsets: number[]): string {
  const rgb = (v: number[]) => Float32Array.from({ length: 3 }, (_, c) => v[v.length === 1 ? 0 : c]);
  const mul = g.node('Mul', [x, g.floats('input_scale', [1, 3, 1, 1], rgb(scales))], 'input_scaled');
  return g.node('Add', [mul, g.floats('input_offset', [1, 3, 1, 1], rgb(offsets))], 'input_normalized');
}

export function exportToOnnx(model: tf.LayersModel, opts: OnnxExportOptions): Uint8Array {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new OnnxExportError(
      `expected one input and one output, got ${model.inputs.length}/${model.outputs.length}`,
    );
  }
  const [, height, width, channels] = staticShape(model.inputs[0].shape, 'model input');
  if (model.inputs[0].shape.length !== 4 || channels !== 3) {
    throw new OnnxExportError(`model input must be [N, H, W, 3], got [${model.inputs[0].shape}]`);
  }
  const scales =
    typeof opts.inputScaling.scale === 'number' ? [opts.inputScaling.scale] : [...opts.inputScaling.scale];
  const offsets =
    typeof opts.inputScaling.offset === 'number' ? [opts.inputScaling.offset] : [...opts.inputScaling.offset];
  if (
    ![...scales, ...offsets].every(Number.isFinite) ||
    ![1, 3].includes(scales.length) ||
    ![1, 3].includes(offsets.length)
  ) {
    throw new OnnxExportError(
      `inputScaling must be finite numbers or RGB triples, got scale ${scales} offset ${offsets}`,
    );
  }
  const uniform = new Set(scales).size === 1 && new Set(offsets).size === 1;

  const g = new GraphBuilder([ONNX_INPUT_NAME, ONNX_OUTPUT_NAME, ONNX_FEATURES_NAME]);
  const uses = countUses(model);
  const slots = new Map<number, Slot>();
  const inputId = model.inputs[0].id;
  const inputSpec = opts.floatInput
    ? floatInputSpec(width, height, opts.floatInput)
    : uint8InputSpec(width, height);
  const channelScale = (c: number) => scales[scales.length === 1 ? 0 : c];
  const channelOffset = (c: number) => offsets[offsets.length === 1 ? 0 : c];
  if (opts.floatInput) {
    // x = (p / 255 - mean) / std, the network wants p * scale + offset = x * a + b per channel.
    const { mean, std } = opts.floatInput;
    const a = Float32Array.from(std, (s, c) => s * 255 * channelScale(c));
    const b = Float32Array.from(mean, (m, c) => m * 255 * channelScale(c) + channelOffset(c));
    const mul = g.node('Mul', [ONNX_INPUT_NAME, g.floats('input_std', [3, 1, 1], a)], 'input_unstd');
    const add = g.node('Add', [mul, g.floats('input_mean', [3, 1, 1], b)], 'input_normalized');
    slots.set(inputId, { value: tensor(add, 4), uses: uses.get(inputId) ?? 0 });
  } else {
    const asFloat = g.node('Cast', [ONNX_INPUT_NAME], 'input_float', [
      { name: 'to', type: 'int', value: DataType.FLOAT },
    ]);
    const nchw = g.node('Transpose', [asFloat], 'input_nchw', [
      { name: 'perm', type: 'ints', value: [0, 3, 1, 2] },
    ]);
    slots.set(inputId, {
      value: uniform
        ? { kind: 'scaledInput', raw: nchw, scale: scales[0], offset: offsets[0] }
        : tensor(perChannelScaling(g, nchw, scales, offsets), 4),
      uses: uses.get(inputId) ?? 0,
    });
  }

  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    if (layer.inboundNodes.length !== 1) {
      throw new UnsupportedLayerError(layer.name, layer.getClassName(), 'layers called more than once');
    }
    const node = layer.inboundNodes[0];
    if (node.outputTensors.length !== 1) {
      throw new UnsupportedLayerError(layer.name, layer.getClassName(), 'multiple outputs');
    }
    const inputs = node.inputTensors.map((t) => {
      const slot = slots.get(t.id);
      if (!slot) throw new OnnxExportError(`layer ${layer.name} reads a tensor that was not translated`);
      return slot;
    });
    const out = node.outputTensors[0];
    const outUses = uses.get(out.id) ?? 0;
    if (isIdentityLayer(layer)) {
      // The input value now also stands for this output: its reader count changes accordingly.
      const input = inputs[0];
      input.uses += outUses - 1;
      slots.set(out.id, input);
      continue;
    }
    const shapes = node.inputTensors.map((t) => staticShape(t.shape, `input of ${layer.name}`));
    slots.set(out.id, { value: convertLayer(g, { layer, inputs, shapes }), uses: outUses });
  }

  const result = slots.get(model.outputs[0].id);
  if (!result) throw new OnnxExportError('model output was not translated');
  let outName = materialize(g, result.value);
  if (rankOf(result.value) === 4) {
    outName = g.node('Transpose', [outName], 'output_nhwc', [
      { name: 'perm', type: 'ints', value: [0, 2, 3, 1] },
    ]);
  }
  if (g.nodes.some((n) => n.outputs.includes(outName))) g.rename(outName, ONNX_OUTPUT_NAME);
  else g.identityTo(ONNX_OUTPUT_NAME, outName);

  const outShape = model.outputs[0].shape.map((d, i) => (i === 0 ? 'N' : (d as number)));
  const features = featuresOutput(g, model, slots);
  return encodeModel({
    irVersion: ONNX_IR_VERSION,
    opsetVersion: ONNX_OPSET,
    producerName: 'edgeloop-trainer',
    producerVersion: '0.1.0',
    graphName: model.name,
    nodes: g.nodes,
    initializers: g.initializers,
    inputs: [
      opts.floatInput
        ? { name: ONNX_INPUT_NAME, elemType: DataType.FLOAT, shape: ['N', channels, height, width] }
        : { name: ONNX_INPUT_NAME, elemType: DataType.UINT8, shape: ['N', height, width, channels] },
    ],
    outputs: [
      { name: ONNX_OUTPUT_NAME, elemType: DataType.FLOAT, shape: outShape },
      ...(features ? [{ name: ONNX_FEATURES_NAME, elemType: DataType.FLOAT, shape: ['N', features] }] : []),
    ],
    metadata: {
      ...opts.metadata,
      [METADATA_KEYS.inputSpec]: JSON.stringify(inputSpec),
      [METADATA_KEYS.formatVersion]: MODEL_FORMAT_VERSION,
    },
  });
}

/**
 * Adds the `features` output (an Identity of the last global pooling's flattened output) and
 * returns its width; null when the network has no global pooling or its pooling is the output.
 */
function featuresOutput(g: GraphBuilder, model: tf.LayersModel, slots: Map<number, Slot>): number | null {
  const pool = model.layers.findLast((l) => l.getClassName() === 'GlobalAveragePooling2D');
  const pooled = pool?.inboundNodes[0]?.outputTensors[0];
  if (!pooled || pooled.id === model.outputs[0].id) return null;
  const slot = slots.get(pooled.id);
  const width = pooled.shape[1];
  if (!slot || pooled.shape.length !== 2 || typeof width !== 'number') return null;
  g.identityTo(ONNX_FEATURES_NAME, materialize(g, slot.value));
  return width;
}

/** The contract of the default export: raw RGB bytes, scaling folded into the graph. */
export function uint8InputSpec(width: number, height: number): InputSpec {
  return {
    name: ONNX_INPUT_NAME,
    dtype: 'uint8',
    layout: 'NHWC',
    width,
    height,
    channels: 3,
    colorOrder: 'RGB',
    normalization: { kind: 'none' },
  };
}

function floatInputSpec(
  width: number,
  height: number,
  f: NonNullable<OnnxExportOptions['floatInput']>,
): InputSpec {
  return {
    name: ONNX_INPUT_NAME,
    dtype: 'float32',
    layout: 'NCHW',
    width,
    height,
    channels: 3,
    colorOrder: 'RGB',
    normalization: { kind: 'mean-std', mean: f.mean, std: f.std },
  };
}
