import { describe, expect, it } from 'vitest';
import { QMAX, roundWeights, rowBounds, weightRows } from '../../../trainer/src/quantize/weight-rounding.ts';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** What VPMADDUBSW computes for one pair: two uint8 x int8 products summed, saturated to int16. */
const maddubs = (a0: number, w0: number, a1: number, w1: number) =>
  Math.max(-32768, Math.min(32767, a0 * w0 + a1 * w1));

describe('weight rounding', () => {
  it('keeps every VPMADDUBSW pair of a conv row from saturating, with a finer step than 7 bits', () => {
    const next = rng(7);
    const dims = [16, 8, 3, 3];
    const data = Float32Array.from({ length: 16 * 8 * 9 }, () => (next() - 0.5) * (next() < 0.05 ? 8 : 1));
    const rows = weightRows(dims, 'conv', 0);
    const bounds = rowBounds(data, rows);
    const scales = bounds.map((b) => b / QMAX);
    const q = roundWeights(data, rows, scales);
    let finer = 0;
    for (let o = 0; o < 16; o++) {
      let maxAbs = 0;
      for (let r = 0; r < rows.length; r++) maxAbs = Math.max(maxAbs, Math.abs(data[rows.at(o, r)]));
      if (scales[o] < maxAbs / 63 - 1e-9) finer++;
      // Pairs in channels-last order: (y, x, c) with c fastest, neighbours (c, c+1) for even c.
      for (let y = 0; y < 3; y++)
        for (let x = 0; x < 3; x++)
          for (let c = 0; c < 8; c += 2) {
            const w0 = q[((o * 8 + c) * 3 + y) * 3 + x];
            const w1 = q[((o * 8 + c + 1) * 3 + y) * 3 + x];
            for (const [a0, a1] of [
              [255, 255],
              [255, 0],
              [0, 255],
            ]) {
              expect(maddubs(a0, w0, a1, w1)).toBe(a0 * w0 + a1 * w1);
            }
          }
      expect(
        Math.max(...Array.from({ length: rows.length }, (_, r) => Math.abs(q[rows.at(o, r)]))),
      ).toBeLessThanOrEqual(127);
    }
    // Most rows' largest weight has no equally large same-sign neighbour.
    expect(finer).toBeGreaterThan(8);
  });

  it('rounds against the input moments: lower output error than nearest, never past floor or ceil', () => {
    const next = rng(3);
    const n = 9;
    const channels = 32;
    const dims = [channels, 1, 3, 3];
    const data = Float32Array.from({ length: channels * n }, () => next() - 0.5);
    // Strongly correlated inputs (neighbouring pixels of a smooth image), as a depthwise row sees.
    const samples = Array.from({ length: 400 }, () => {
      const base = next() * 4;
      return Float64Array.from({ length: n }, () => base + (next() - 0.5) * 0.2);
    });
    const m = new Float64Array(n * n);
    for (const x of samples)
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m[i * n + j] += (x[i] * x[j]) / samples.length;
    const rows = weightRows(dims, 'full', 0);
    const scales = rowBounds(data, rows).map((b) => b / QMAX);
    const nearest = roundWeights(data, rows, scales);
    const adaptive = roundWeights(data, rows, scales, () => m);
    const outputError = (q: Int8Array) => {
      let sum = 0;
      for (const x of samples)
        for (let o = 0; o < channels; o++) {
          let e = 0;
          for (let r = 0; r < n; r++) e += (data[o * n + r] - scales[o] * q[o * n + r]) * x[r];
          sum += e * e;
        }
      return sum;
    };
    expect(outputError(adaptive)).toBeLessThan(outputError(nearest) * 0.5);
    for (let i = 0; i < data.length; i++) {
      const exact = data[i] / scales[Math.floor(i / n)];
      expect(adaptive[i]).toBeGreaterThanOrEqual(Math.floor(exact));
      expect(adaptive[i]).toBeLessThanOrEqual(Math.ceil(exact));
    }
  });
});
