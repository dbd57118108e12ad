/**
 * Empirical bias correction (Nagel et al., "Data-Free Quantization Through Weight Equalization and
 * Bias Correction", 2019, section 4.2): int8 weights and int8 inputs shift the mean of a layer's
 * output per channel — most in MobileNet's depthwise layers, which sum only 9 products. Running the
 * fp32 graph and the QDQ graph (unfused, i.e. simulating int8 in float) over the calibration images,
 * the per-channel mean of (int8 output - fp32 output) is subtracted from each int32 bias. Layers
 * are corrected one at a time in graph order, since a correction upstream changes the error
 * downstream (correcting all at once overshoots).
 */
import { createTensorRunner, type TensorData } from '../inference/onnx-runner.ts';
import { DataType, encodeModel, type OnnxModel } from '../onnx/onnx-proto.ts';
import type { BiasedLayer } from './insert-qdq.ts';

function withOutputs(model: OnnxModel, names: string[]): Uint8Array {
  const declared = new Set(model.outputs.map((o) => o.name));
  return encodeModel({
    ...model,
    outputs: [
      ...model.outputs,
      ...names.filter((n) => !declared.has(n)).map((name) => ({ name, elemType: DataType.FLOAT })),
    ],
  });
}

/** Per-channel mean over everything but axis 1 (NCHW conv outputs, [N, units] Gemm outputs). */
function channelMeans(data: Float32Array, dims: number[]): Float64Array {
  const channels = dims[1];
  const inner = dims.slice(2).reduce((a, b) => a * b, 1);
  const sums = new Float64Array(channels);
  for (let i = 0; i < data.length; i++) sums[Math.floor(i / inner) % channels] += data[i];
  const count = data.length / channels;
  return sums.map((s) => s / count);
}

export async function correctBiases(
  fp32: OnnxModel,
  qdq: OnnxModel,
  layers: BiasedLayer[],
  inputs: readonly TensorData[],
  options: { threads?: number } = {},
): Promise<void> {
  if (layers.length === 0 || inputs.length === 0) return;
  const fp32Runner = await createTensorRunner(
    withOutputs(
      fp32,
      layers.map((l) => l.fp32Output),
    ),
    options.threads ?? 2,
  );
  const reference: Float64Array[] = layers.map(() => new Float64Array(0));
  try {
    for (const input of inputs) {
      const out = await fp32Runner.run(
        input,
        layers.map((l) => l.fp32Output),
      );
      layers.forEach((l, i) => {
        const v = out.get(l.fp32Output)!;
        const m = channelMeans(v.data, v.dims);
        reference[i] = reference[i].length ? reference[i].map((x, c) => x + m[c]) : m;
      });
    }
  } finally {
    await fp32Runner.release();
  }
  const inits = new Map(qdq.initializers.map((t) => [t.name, t]));
  // One layer per pass, in graph order: each correction is measured with every layer above it
  // already corrected, so no shift is counted twice.
  const all = layers.map((l) => l.qdqOutput);
  for (const [i, l] of layers.entries()) {
    const runner = await createTensorRunner(withOutputs(qdq, all), options.threads ?? 2, { optimize: false });
    let sum: Float64Array = new Float64Array(0);
    try {
      for (const input of inputs) {
        const v = (await runner.run(input, [l.qdqOutput])).get(l.qdqOutput)!;
        const m = channelMeans(v.data, v.dims);
        sum = sum.length ? sum.map((x, c) => x + m[c]) : m;
      }
    } finally {
      await runner.release();
    }
    const t = inits.get(l.bias)!;
    const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    for (let c = 0; c < l.biasScales.length; c++) {
      const shift = (sum[c] - reference[i][c]) / inputs.length;
      const q = view.getInt32(c * 4, true) - Math.round(shift / l.biasScales[c]);
      view.setInt32(c * 4, Math.max(-(2 ** 31 - 1), Math.min(2 ** 31 - 1, q)), true);
    }
  }
}
