/** Small real models and images for the quantizer tests: built by the test, never downloaded. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRng } from '@edgeloop/shared';
import * as tf from '@tensorflow/tfjs';
import { buildMobileNet, type ModelSpec } from '../../trainer/src/model/index.ts';
import { exportToOnnx, type OnnxExportOptions } from '../../trainer/src/onnx/export-onnx.ts';
import type { OnnxModel } from '../../trainer/src/onnx/onnx-proto.ts';
import { pythonWithOnnx } from './python-onnx.ts';

export const SCALING = { scale: 1 / 127.5, offset: -1 };

/** A hand-written float graph (IR 8, opset 13) for the quantizer's graph-level tests. */
export function floatGraph(
  parts: Pick<OnnxModel, 'nodes' | 'initializers' | 'inputs' | 'outputs'>,
): OnnxModel {
  return {
    irVersion: 8,
    opsetVersion: 13,
    producerName: 'test',
    producerVersion: '1',
    graphName: 'g',
    metadata: {},
    ...parts,
  };
}

/** Non-trivial BN statistics, so that folding them into the convolutions is really exercised. */
export function randomizeBatchNorm(model: tf.LayersModel, seed: number): void {
  const next = createRng(seed);
  const uniform = (shape: number[], lo: number, hi: number) =>
    tf.tensor(
      Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => lo + (hi - lo) * next()),
      shape,
    );
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    // tfjs order: gamma, beta, moving_mean, moving_variance.
    const [gamma, beta, mean, variance] = layer.getWeights().map((w) => w.shape as number[]);
    layer.setWeights([
      uniform(gamma, 0.5, 1.5),
      uniform(beta, -0.5, 0.5),
      uniform(mean, -0.5, 0.5),
      uniform(variance, 0.3, 2),
    ]);
  }
}

/** A MobileNet with non-trivial BatchNorm statistics, exported by our exporter. */
export function exportedMobileNet(
  spec: ModelSpec,
  seed: number,
  extra: Partial<OnnxExportOptions> = {},
): { model: tf.LayersModel; bytes: Uint8Array } {
  const model = buildMobileNet(spec);
  randomizeBatchNorm(model, seed);
  return { model, bytes: exportToOnnx(model, { inputScaling: SCALING, metadata: {}, ...extra }) };
}

/** Images with structure (smooth colour fields plus noise), RGB bytes of size*size*3. */
export function smoothImages(n: number, size: number, seed: number): Uint8Array[] {
  const next = createRng(seed);
  return Array.from({ length: n }, () => {
    const img = new Uint8Array(size * size * 3);
    const base = [next() * 255, next() * 255, next() * 255];
    const slope = [next() * 4 - 2, next() * 4 - 2, next() * 4 - 2];
    for (let p = 0; p < size * size; p++) {
      const x = p % size;
      for (let c = 0; c < 3; c++) {
        img[p * 3 + c] = Math.max(0, Math.min(255, base[c] + slope[c] * x + (next() - 0.5) * 60));
      }
    }
    return img;
  });
}

const SUMMARY = `
import json, sys, numpy, onnx
from onnx import numpy_helper
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
inits = {t.name: t for t in m.graph.initializer}
producer = {o: n for n in m.graph.node for o in n.output}
def pair_max(q, axis):
    # Rows as VPMADDUBSW reduces them: Conv OIHW -> (O, KH*KW*C) channels-last; Gemm B [K, N] -> (N, K).
    q = q.astype("int64")
    if q.ndim == 4:
        q = q.transpose(0, 2, 3, 1).reshape(q.shape[0], -1)
    elif axis == 1:
        q = q.T
    if q.shape[1] % 2:
        q = numpy.pad(q, ((0, 0), (0, 1)))
    pairs = q.reshape(q.shape[0], -1, 2)
    return int(max(numpy.clip(pairs, 0, None).sum(-1).max(), numpy.clip(-pairs, 0, None).sum(-1).max()))
def dq_source(name):
    n = producer.get(name)
    if n is None or n.op_type != "DequantizeLinear":
        return None
    t = inits.get(n.input[0])
    scale = inits.get(n.input[1])
    axis = [a.i for a in n.attribute if a.name == "axis"]
    return {"type": t.data_type if t else None, "dims": list(t.dims) if t else None,
            "scales": len(numpy_helper.to_array(scale).reshape(-1)) if scale else None,
            "maxAbs": int(abs(numpy_helper.to_array(t).astype("int64")).max()) if t else None,
            "pairMax": pair_max(numpy_helper.to_array(t), axis[0] if axis else 1) if t and t.data_type == 3 else None,
            "axis": axis[0] if axis else None}
layers = []
for n in m.graph.node:
    if n.op_type in ("Conv", "Gemm"):
        layers.append({"name": n.name, "op": n.op_type, "weight": dq_source(n.input[1]),
                       "bias": dq_source(n.input[2]) if len(n.input) > 2 else None})
print(json.dumps({"opset": [o.version for o in m.opset_import if o.domain in ("", "ai.onnx")],
                  "ops": sorted(set(n.op_type for n in m.graph.node)), "layers": layers,
                  "metadata": {p.key: p.value for p in m.metadata_props}}))
`;

export type QdqSummary = {
  opset: number[];
  ops: string[];
  layers: {
    name: string;
    op: string;
    weight: {
      type: number;
      dims: number[];
      scales: number;
      axis: number;
      maxAbs: number;
      pairMax: number;
    } | null;
    bias: { type: number; dims: number[]; scales: number; axis: number; maxAbs: number } | null;
  }[];
  metadata: Record<string, string>;
};

/** onnx.checker full_check plus where each Conv/Gemm gets its weights, or null without python3-onnx. */
export function checkQdq(bytes: Uint8Array, dir: string, name: string): QdqSummary | null {
  if (!pythonWithOnnx) return null;
  const file = join(dir, `${name}.onnx`);
  writeFileSync(file, bytes);
  return JSON.parse(execFileSync(pythonWithOnnx, ['-c', SUMMARY, file], { encoding: 'utf8' }));
}
