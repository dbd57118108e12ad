/**
 * How far a calibration figure can be trusted: cross-fitted temperatures (never fitted on the fold
 * they calibrate), the noise floor of the 15-bin ECE, bootstrap intervals and equal-mass bins —
 * on synthetic outputs whose calibration is known.
 */
import { describe, expect, it } from 'vitest';
import { expectedCalibrationError, fitTemperature } from '../../../trainer/src/evaluate/calibration.ts';
import {
  adaptiveCalibrationError,
  assignFolds,
  crossFitTemperature,
  eceDetail,
  temperatureHelpsOutOfFold,
} from '../../../trainer/src/evaluate/calibration-uncertainty.ts';
import { overconfident } from '../../helpers/miscalibrated.ts';

describe('cross-fitted temperature', () => {
  it('calibrates every fold with a temperature fitted without that fold', () => {
    const n = 103;
    const k = 3;
    const { probs, truth } = overconfident(n, k, 2, 5);
    // Row i's identity travels in its probabilities; the fitter records which rows it was given.
    const rowOf = new Map<string, number>();
    for (let i = 0; i < n; i++) rowOf.set(Array.from(probs.subarray(i * k, (i + 1) * k)).join(','), i);
    const seen: number[][] = [];
    const fit = (p: Float32Array, t: number[], kk: number) => {
      seen.push(
        Array.from(
          { length: t.length },
          (_, j) => rowOf.get(Array.from(p.subarray(j * kk, (j + 1) * kk)).join(',')) ?? -1,
        ),
      );
      return fitTemperature(p, t, kk);
    };
    crossFitTemperature(probs, truth, k, { folds: 4, seed: 9, fit });
    const fold = assignFolds(n, 4, 9);
    expect(seen).toHaveLength(4);
    seen.forEach((rows, f) => {
      expect(rows).not.toContain(-1);
      // Exactly the other folds' rows: none of the fold it calibrates, all of the rest.
      expect(rows.filter((i) => fold[i] === f)).toEqual([]);
      expect(rows.length).toBe(fold.filter((g) => g !== f).length);
    });
  });

  it('brings a known over-confident model close to calibrated on frames the fit never saw', () => {
    const { probs, truth } = overconfident(3000, 5, 3, 11);
    const { probs: calibrated, temperatures } = crossFitTemperature(probs, truth, 5, { seed: 2 });
    expect(expectedCalibrationError(probs, truth, 5)).toBeGreaterThan(0.1);
    expect(expectedCalibrationError(calibrated, truth, 5)).toBeLessThan(0.03);
    for (const t of temperatures) expect(t).toBeGreaterThan(2.5);
  });

  it('folds a residual temperature when it helps frames its fit did not see, rarely when calibrated', () => {
    const seeds = Array.from({ length: 12 }, (_, i) => i + 1);
    const folded = (sharpen: number) =>
      seeds.filter((s) => {
        const { probs, truth } = overconfident(341, 10, sharpen, s);
        return temperatureHelpsOutOfFold(probs, truth, 10).helps;
      }).length;
    expect(folded(1.6)).toBe(seeds.length);
    // Already calibrated: a fitted temperature is noise; out of fold it mostly makes NLL worse.
    expect(folded(1)).toBeLessThan(seeds.length / 2);
  });
});

describe('ECE noise on a few hundred frames', () => {
  it('puts a perfectly calibrated model inside the noise floor, and the floor shrinks with more frames', () => {
    const small = overconfident(341, 10, 1, 21);
    const d = eceDetail(small.probs, small.truth, 10, { seed: 1 });
    const ece = expectedCalibrationError(small.probs, small.truth, 10);
    // What bin noise alone gives on 341 frames is several points, the size of the 0.03 target.
    expect(d.noiseFloor.mean).toBeGreaterThan(0.02);
    expect(ece).toBeLessThan(d.noiseFloor.p95);
    expect(d.interval[0]).toBeLessThanOrEqual(d.interval[1]);
    const big = overconfident(5000, 10, 1, 21);
    expect(eceDetail(big.probs, big.truth, 10).noiseFloor.mean).toBeLessThan(d.noiseFloor.mean / 2.5);
  });

  it('puts a clearly over-confident model above the noise floor, by either binning', () => {
    const { probs, truth } = overconfident(341, 10, 2.5, 22);
    const d = eceDetail(probs, truth, 10);
    expect(expectedCalibrationError(probs, truth, 10)).toBeGreaterThan(d.noiseFloor.p95);
    expect(d.interval[0]).toBeGreaterThan(d.noiseFloor.mean);
    expect(adaptiveCalibrationError(probs, truth, 10)).toBeGreaterThan(0.1);
  });

  it('adaptive bins hold equal shares of the frames', () => {
    // Four frames at 0.9 (all right) and four at 0.6 (half right): two equal-mass bins, gaps 0.1 each.
    const probs = new Float32Array([
      0.9, 0.1, 0.9, 0.1, 0.9, 0.1, 0.9, 0.1, 0.6, 0.4, 0.6, 0.4, 0.6, 0.4, 0.6, 0.4,
    ]);
    const truth = [0, 0, 0, 0, 0, 0, 1, 1];
    expect(adaptiveCalibrationError(probs, truth, 2, 2)).toBeCloseTo(0.1, 6);
  });
});
