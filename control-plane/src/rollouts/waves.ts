/** Splits a rollout's devices into waves. Pure. */
import type { RolloutWave, RolloutWaveStatus } from '@edgeloop/shared';

/**
 * Cumulative wave sizes for `total` devices: `{devices: n}` adds n devices, `{percent: p}` grows
 * the rollout to ceil(p% of total). Each wave holds at least one new device while any are left,
 * and the last wave always reaches every device, so no target is ever left out.
 */
export function waveSizes(waves: readonly RolloutWave[], total: number): number[] {
  const sizes: number[] = [];
  let reached = 0;
  waves.forEach((wave, i) => {
    const last = i === waves.length - 1;
    let upTo = 'devices' in wave ? reached + wave.devices : Math.ceil((wave.percent / 100) * total);
    if (last) upTo = total;
    upTo = Math.min(total, Math.max(upTo, reached + (reached < total ? 1 : 0)));
    sizes.push(upTo - reached);
    reached = upTo;
  });
  return sizes;
}

/** The wave index of every device, in the given order. */
export function assignWaves(deviceIds: readonly string[], waves: readonly RolloutWave[]): number[] {
  const out: number[] = [];
  waveSizes(waves, deviceIds.length).forEach((size, wave) => {
    for (let i = 0; i < size; i++) out.push(wave);
  });
  return out;
}

/** A new rollout's waves: the first one rolling from `at`, the others waiting. */
export function initialWaves(waves: readonly RolloutWave[], total: number, at: string): RolloutWaveStatus[] {
  return waveSizes(waves, total).map((size, index) => ({
    index,
    devices: size,
    state: index === 0 ? 'rolling' : 'pending',
    startedAt: index === 0 ? at : null,
    soakUntil: null,
    checks: null,
  }));
}
