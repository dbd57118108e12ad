/** Synthetic classifier outputs with a known calibration, for the calibration tests (no real data). */
import { createRng } from '@edgeloop/shared';

/** n frames of k classes whose true class is drawn from softmax(z); the model reports softmax(z·s). */
export function overconfident(n: number, k: number, sharpen: number, seed: number) {
  const rng = createRng(seed);
  const probs = new Float32Array(n * k);
  const truth: number[] = [];
  for (let i = 0; i < n; i++) {
    const z = Array.from({ length: k }, () => rng() * 4);
    const p = z.map(Math.exp);
    const sum = p.reduce((a, b) => a + b, 0);
    let r = rng() * sum;
    let label = 0;
    while (label < k - 1 && r > p[label]) r -= p[label++];
    truth.push(label);
    const q = z.map((v) => Math.exp(v * sharpen));
    const qs = q.reduce((a, b) => a + b, 0);
    q.forEach((v, c) => {
      probs[i * k + c] = v / qs;
    });
  }
  return { probs, truth };
}
