/**
 * `--freeze`: which part of a MobileNet trains. The network is cut at a block boundary into a frozen
 * feature extractor (run in inference mode, its outputs cacheable) and a trainable tail built from
 * fresh copies of the same layers, so the full model (what is exported) stays a single-call graph;
 * trained tail weights are copied back into it by layer name.
 */
import { EdgeloopError } from '@edgeloop/shared';
import type * as tfjs from '@tensorflow/tfjs';
import type { ModelSpec } from './mobilenet-spec.ts';

type Tf = typeof tfjs;

/** 'none': everything trains; 'head': only the classifier; { lastBlocks: N }: the last N blocks too. */
export type FreezeSpec = 'none' | 'head' | { lastBlocks: number };

export const V1_BLOCK_COUNT = 13;
export const V2_BLOCK_COUNT = 17;

export function parseFreeze(text: string): FreezeSpec {
  if (text === 'none' || text === 'head') return text;
  const m = /^last:(\d+)$/.exec(text);
  if (m) return { lastBlocks: Number(m[1]) };
  throw new EdgeloopError('VALIDATION_FAILED', `--freeze must be head, last:N or none, got '${text}'`);
}

export function formatFreeze(f: FreezeSpec): string {
  return typeof f === 'string' ? f : `last:${f.lastBlocks}`;
}

/** Output layer of V2 block k (0-based): its residual Add when it has one, else its projection BN. */
function v2BlockOutput(model: tfjs.LayersModel, k: number): string {
  const prefix = k === 0 ? 'expanded_conv_' : `block_${k}_`;
  const names = new Set(model.layers.map((l) => l.name));
  return names.has(`${prefix}add`) ? `${prefix}add` : `${prefix}project_BN`;
}

/**
 * Name of the last frozen layer (the cut), or null when nothing is frozen. V1 blocks are the 13
 * depthwise-separable blocks; V2 blocks are its 17 inverted-residual blocks, and its final 1x1
 * conv (Conv_1) trains whenever at least one block does.
 */
export function cutLayerName(spec: ModelSpec, model: tfjs.LayersModel, freeze: FreezeSpec): string | null {
  if (freeze === 'none') return null;
  const v1 = spec.architecture === 'mobilenet_v1';
  if (freeze === 'head') return v1 ? `conv_pw_${V1_BLOCK_COUNT}_relu` : 'out_relu';
  const total = v1 ? V1_BLOCK_COUNT : V2_BLOCK_COUNT;
  const n = freeze.lastBlocks;
  if (!Number.isInteger(n) || n < 0 || n > total) {
    throw new EdgeloopError(
      'VALIDATION_FAILED',
      `--freeze last:N needs 0 <= N <= ${total} for ${spec.architecture}`,
    );
  }
  if (n === 0) return cutLayerName(spec, model, 'head');
  if (n === total) return v1 ? 'conv1_relu' : 'Conv1_relu';
  return v1 ? `conv_pw_${total - n}_relu` : v2BlockOutput(model, total - 1 - n);
}

export interface SplitModel {
  /** Input image -> cut activations; inference only. */
  frozen: tfjs.LayersModel;
  /** Cut activations -> probabilities; fresh layers holding copies of the full model's weights. */
  tail: tfjs.LayersModel;
  cutShape: number[];
}

function cloneLayer(tf: Tf, layer: tfjs.layers.Layer): tfjs.layers.Layer {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[layer.getClassName()];
  if (!entry) throw new Error(`layer class ${layer.getClassName()} is not registered`);
  const [cls, fromConfig] = entry;
  return fromConfig(cls, layer.getConfig()) as tfjs.layers.Layer;
}

export function splitModel(tf: Tf, model: tfjs.LayersModel, cutName: string): SplitModel {
  const cut = model.getLayer(cutName);
  const cutOut = cut.output as tfjs.SymbolicTensor;
  const frozen = tf.model({ inputs: model.inputs, outputs: cutOut, name: `${model.name}_frozen` });
  const cutShape = cutOut.shape.slice(1) as number[];
  const tailInput = tf.input({ shape: cutShape, name: 'cut_input' });
  // Map symbolic tensor ids of the full model to tensors of the tail graph.
  const mapped = new Map<number, tfjs.SymbolicTensor>([[cutOut.id, tailInput]]);
  const frozenLayers = new Set(frozen.layers.map((l) => l.name));
  const tailLayers: [tfjs.layers.Layer, tfjs.layers.Layer][] = [];
  for (const layer of model.layers) {
    if (frozenLayers.has(layer.name)) continue;
    const node = layer.inboundNodes[0];
    const inputs = node.inputTensors.map((t) => {
      const m = mapped.get(t.id);
      if (!m)
        throw new Error(`cannot cut at ${cutName}: ${layer.name} reads a frozen tensor other than the cut`);
      return m;
    });
    const copy = cloneLayer(tf, layer);
    const out = copy.apply(inputs.length === 1 ? inputs[0] : inputs) as tfjs.SymbolicTensor;
    mapped.set((node.outputTensors[0] as tfjs.SymbolicTensor).id, out);
    tailLayers.push([layer, copy]);
  }
  for (const [orig, copy] of tailLayers) copy.setWeights(orig.getWeights());
  const tail = tf.model({
    inputs: tailInput,
    outputs: mapped.get((model.outputs[0] as tfjs.SymbolicTensor).id) as tfjs.SymbolicTensor,
    name: `${model.name}_tail`,
  });
  return { frozen, tail, cutShape };
}

/** Copies every weight of `from` into the same-named layers of `to`. */
export function copyWeightsByLayerName(from: tfjs.LayersModel, to: tfjs.LayersModel): void {
  for (const layer of from.layers) {
    if (layer.weights.length === 0) continue;
    to.getLayer(layer.name).setWeights(layer.getWeights());
  }
}
