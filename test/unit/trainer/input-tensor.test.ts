/** Turning decoded RGB pixels into whatever tensor a model's input spec asks for. */
import type { InputSpec } from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import { toInputTensor } from '../../../trainer/src/quantize/input-tensor.ts';

// A 2x1 image: pixel 0 = (10, 20, 30), pixel 1 = (40, 50, 60).
const image = Uint8Array.of(10, 20, 30, 40, 50, 60);
const base = { name: 'x', width: 2, height: 1, channels: 3 } as const;

describe('toInputTensor', () => {
  it('passes bytes through for our uint8 NHWC models', () => {
    const spec: InputSpec = {
      ...base,
      dtype: 'uint8',
      layout: 'NHWC',
      colorOrder: 'RGB',
      normalization: { kind: 'none' },
    };
    const t = toInputTensor([image, image], spec);
    expect(t.dims).toEqual([2, 1, 2, 3]);
    expect(Array.from(t.data)).toEqual([...image, ...image]);
  });

  it('writes float NCHW planes with mean/std per channel', () => {
    const spec: InputSpec = {
      ...base,
      dtype: 'float32',
      layout: 'NCHW',
      colorOrder: 'RGB',
      normalization: { kind: 'mean-std', mean: [0.1, 0.2, 0.3], std: [0.5, 0.25, 0.125] },
    };
    const t = toInputTensor([image], spec);
    expect(t.dims).toEqual([1, 3, 1, 2]);
    const expected = [10, 40]
      .map((v) => (v / 255 - 0.1) / 0.5)
      .concat(
        [20, 50].map((v) => (v / 255 - 0.2) / 0.25),
        [30, 60].map((v) => (v / 255 - 0.3) / 0.125),
      );
    Array.from(t.data).forEach((v, i) => {
      expect(v).toBeCloseTo(expected[i], 5);
    });
  });

  it('swaps to BGR and applies scale/offset', () => {
    const spec: InputSpec = {
      ...base,
      dtype: 'float32',
      layout: 'NHWC',
      colorOrder: 'BGR',
      normalization: { kind: 'scale', scale: 0.5, offset: -1 },
    };
    expect(Array.from(toInputTensor([image], spec).data)).toEqual([14, 9, 4, 29, 24, 19]);
  });
});
