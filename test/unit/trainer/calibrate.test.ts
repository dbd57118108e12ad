import { describe, expect, it } from 'vitest';
import type { OnnxModel } from '../../../trainer/src/onnx/onnx-proto.ts';
import { calibrate } from '../../../trainer/src/quantize/calibrate.ts';
import { floatGraph } from '../../helpers/quantize-fixtures.ts';

/** input -> Relu -> 'pooled' -> GlobalAveragePool, and input -> Relu -> 'plain' (a graph output). */
function model(): OnnxModel {
  return floatGraph({
    nodes: [
      { name: 'a', opType: 'Relu', inputs: ['input'], outputs: ['pooled'] },
      { name: 'gap', opType: 'GlobalAveragePool', inputs: ['pooled'], outputs: ['features'] },
      { name: 'b', opType: 'Relu', inputs: ['input'], outputs: ['plain'] },
    ],
    initializers: [],
    inputs: [{ name: 'input', elemType: 1, shape: [1, 4, 16, 16] }],
    outputs: [
      { name: 'features', elemType: 1 },
      { name: 'plain', elemType: 1 },
    ],
  });
}

describe('calibration ranges', () => {
  // Mostly small values with a rare large one per image: the shape of a late MobileNet layer.
  const images = Array.from({ length: 6 }, (_, k) => {
    // Exponentially distributed (mean 0.15), so finer steps near zero matter.
    const data = Float32Array.from(
      { length: 4 * 16 * 16 },
      (_, i) => -0.15 * Math.log(1 - (((i * 7919 + k * 104729) % 9973) + 0.5) / 9973),
    );
    data[(k * 131) % data.length] = 6;
    return { data, dims: [1, 4, 16, 16] };
  });

  it('entropy clips a long-tailed value but never the map a global pooling reads', async () => {
    const ranges = await calibrate(model(), images, { method: 'entropy', threads: 1 });
    expect(ranges.get('plain')!.max).toBeLessThan(3);
    expect(ranges.get('pooled')!.max).toBe(6);
  });

  it('minmax keeps every observed range', async () => {
    const ranges = await calibrate(model(), images, { method: 'minmax', threads: 1 });
    expect(ranges.get('plain')!.max).toBe(6);
    expect(ranges.get('pooled')!.max).toBe(6);
  });
});
