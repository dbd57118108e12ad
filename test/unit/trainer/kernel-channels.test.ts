import { describe, expect, it } from 'vitest';
import { createTensorRunner } from '../../../trainer/src/inference/onnx-runner.ts';
import { uint8InputSpec } from '../../../trainer/src/onnx/export-onnx.ts';
import { encodeModel } from '../../../trainer/src/onnx/onnx-proto.ts';
import { decodeModel } from '../../../trainer/src/onnx/onnx-reader.ts';
import { widenStemChannels } from '../../../trainer/src/quantize/kernel-channels.ts';
import { prepareGraph } from '../../../trainer/src/quantize/prepare-graph.ts';
import { quantizeModel } from '../../../trainer/src/quantize/quantize-model.ts';
import { exportedMobileNet, smoothImages } from '../../helpers/quantize-fixtures.ts';

const spec = {
  architecture: 'mobilenet_v1',
  alpha: 0.25,
  inputSize: 32,
  dropout: 0.2,
  numClasses: 4,
} as const;

async function outputs(bytes: Uint8Array, images: Uint8Array[]): Promise<Float32Array[]> {
  const runner = await createTensorRunner(bytes, 1);
  try {
    const rows: Float32Array[] = [];
    for (const data of images) {
      const out = await runner.run({ data, dims: [1, 32, 32, 3] });
      rows.push(Float32Array.from(out.values().next().value!.data));
    }
    return rows;
  } finally {
    await runner.release();
  }
}

const weightDims = (bytes: Uint8Array, node: string) => {
  const m = decodeModel(bytes);
  const n = m.nodes.find((x) => x.name === node)!;
  // Quantized graphs read weights through a DequantizeLinear.
  const dq = m.nodes.find((x) => x.outputs[0] === n.inputs[1] && x.opType === 'DequantizeLinear');
  return m.initializers.find((t) => t.name === (dq ? dq.inputs[0] : n.inputs[1]))!.dims;
};

describe('stem widening for onnxruntime int8 kernels', () => {
  it('pads an α0.25 stem to 16 channels without changing what the network computes', async () => {
    const { bytes } = exportedMobileNet(spec, 5);
    const model = decodeModel(bytes);
    prepareGraph(model);
    const before = encodeModel(structuredClone(model));
    expect(widenStemChannels(model)).toEqual({ stemChannels: [8, 16] });
    const after = encodeModel(model);
    expect(weightDims(after, 'conv1')).toEqual([16, 3, 3, 3]);
    expect(weightDims(after, 'conv_dw_1')).toEqual([16, 1, 3, 3]);
    expect(weightDims(after, 'conv_pw_1')).toEqual([16, 16, 1, 1]);
    const images = smoothImages(6, 32, 11);
    const [a, b] = [await outputs(before, images), await outputs(after, images)];
    for (const [i, row] of a.entries()) {
      for (const [j, v] of row.entries()) expect(Math.abs(v - b[i][j])).toBeLessThan(1e-6);
    }
  });

  it('applies to an all-int8 model, and can be turned off or kept off a float stem', async () => {
    const { bytes } = exportedMobileNet(spec, 6);
    const images = smoothImages(8, 32, 3);
    const input = uint8InputSpec(32, 32);
    const on = await quantizeModel(bytes, images, input, { method: 'minmax', keepFloat: [] });
    expect(on.report.widenedStem).toEqual({ stemChannels: [8, 16] });
    expect(weightDims(on.bytes, 'conv_dw_1')).toEqual([16, 1, 3, 3]);
    const off = await quantizeModel(bytes, images, input, {
      method: 'minmax',
      keepFloat: [],
      widenStem: false,
    });
    expect(off.report.widenedStem).toEqual({});
    expect(weightDims(off.bytes, 'conv_dw_1')).toEqual([8, 1, 3, 3]);
    // The default keeps this stem in float: nothing to widen.
    const floatStem = await quantizeModel(bytes, images, input, { method: 'minmax' });
    expect(floatStem.report.widenedStem).toEqual({});
  });
});
