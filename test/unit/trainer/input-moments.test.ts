import { createRng } from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import { floatTensor, type OnnxModel } from '../../../trainer/src/onnx/onnx-proto.ts';
import { calibrate } from '../../../trainer/src/quantize/calibrate.ts';
import { momentCollector } from '../../../trainer/src/quantize/input-moments.ts';
import { floatGraph } from '../../helpers/quantize-fixtures.ts';

/** Relu(input) -> Conv (3x3, stride 2, asymmetric pads) and -> depthwise Conv, NCHW [1, 2, 5, 6]. */
function model(): OnnxModel {
  const conv = [
    { name: 'kernel_shape', type: 'ints', value: [3, 3] },
    { name: 'strides', type: 'ints', value: [2, 2] },
    { name: 'pads', type: 'ints', value: [1, 0, 0, 1] },
  ] as const;
  return floatGraph({
    nodes: [
      { name: 'act', opType: 'Relu', inputs: ['input'], outputs: ['x'] },
      { name: 'full', opType: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attributes: [...conv] },
      {
        name: 'dw',
        opType: 'Conv',
        inputs: ['x', 'wd'],
        outputs: ['z'],
        attributes: [...conv, { name: 'group', type: 'int', value: 2 }],
      },
    ],
    initializers: [
      floatTensor('w', [3, 2, 3, 3], new Float32Array(54).fill(0.1)),
      floatTensor('wd', [2, 1, 3, 3], new Float32Array(18).fill(0.1)),
    ],
    inputs: [{ name: 'input', elemType: 1, shape: [1, 2, 5, 6] }],
    outputs: [
      { name: 'y', elemType: 1 },
      { name: 'z', elemType: 1 },
    ],
  });
}

describe('input moments, collected during calibration', () => {
  it('averages x xᵀ over every patch a row reads, in the weights order, zero outside the image', async () => {
    const next = createRng(9);
    const [c, h, w] = [2, 5, 6];
    const images = Array.from({ length: 8 }, () =>
      Float32Array.from({ length: c * h * w }, () => next() * 2 - 0.5),
    );
    const collect = async (data: Float32Array[]) => {
      const m = model();
      const collector = momentCollector(m);
      const inputs = data.map((d) => ({ data: d, dims: [1, c, h, w] }));
      await calibrate(m, inputs, { method: 'minmax', threads: 1, observe: collector.observe });
      return collector.moments();
    };
    const moments = await collect(images);
    // Brute force: output size with pads top 1, left 0, bottom 0, right 1 and stride 2.
    const oh = Math.floor((h + 1 - 3) / 2) + 1;
    const ow = Math.floor((w + 1 - 3) / 2) + 1;
    const patch = (img: Float32Array, oy: number, ox: number, channels: number[]) =>
      channels.flatMap((ch) =>
        [0, 1, 2].flatMap((ky) =>
          [0, 1, 2].map((kx) => {
            const [iy, ix] = [oy * 2 - 1 + ky, ox * 2 + kx];
            return iy >= 0 && iy < h && ix >= 0 && ix < w ? Math.max(0, img[(ch * h + iy) * w + ix]) : 0;
          }),
        ),
      );
    const expected = (channels: number[]) => {
      const n = channels.length * 9;
      const m = new Float64Array(n * n);
      let count = 0;
      for (const img of images)
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++) {
            const x = patch(img, oy, ox, channels);
            count++;
            for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m[i * n + j] += x[i] * x[j];
          }
      return m.map((v) => v / count);
    };
    const check = (got: Float64Array | undefined, want: Float64Array) => {
      expect(got?.length).toBe(want.length);
      for (let i = 0; i < want.length; i++) expect(got![i]).toBeCloseTo(want[i], 5);
    };
    // The regular conv: one matrix over [C, KH, KW] shared by its rows.
    check(moments.get('full')?.(0), expected([0, 1]));
    expect(moments.get('full')?.(2)).toBe(moments.get('full')?.(0));
    // The depthwise conv: one matrix per channel, over that channel's patch.
    check(moments.get('dw')?.(0), expected([0]));
    check(moments.get('dw')?.(1), expected([1]));
    // Fewer patches than twice a row's length: no moments (rank-deficient), nearest rounding.
    const few = await collect(images.slice(0, 1));
    expect(few.get('full')).toBeUndefined();
  });
});
