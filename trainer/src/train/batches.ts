/** Pure helpers that turn decoded images into training batches (no tfjs here). */
export interface EncodedSet {
  size: number;
  /** One RGB byte array of size*size*3 per image. */
  images: Uint8Array[];
  labels: number[];
}

export function shuffled(n: number, rng: () => number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx;
}

/**
 * Fills `out` (float32, NHWC) with the images at `indices`, scaled to [-1, 1]. With `augment`, each
 * image is flipped horizontally at random and its brightness and contrast jittered a little.
 */
export function fillBatch(
  set: EncodedSet,
  indices: number[],
  out: Float32Array,
  augment: (() => number) | null,
): void {
  const s = set.size;
  const pixels = s * s * 3;
  indices.forEach((index, b) => {
    const src = set.images[index];
    const base = b * pixels;
    const flip = augment !== null && augment() < 0.5;
    const gain = augment ? 0.8 + 0.4 * augment() : 1;
    const shift = augment ? (augment() - 0.5) * 40 : 0;
    for (let y = 0; y < s; y++) {
      for (let x = 0; x < s; x++) {
        const sx = flip ? s - 1 - x : x;
        const si = (y * s + sx) * 3;
        const di = base + (y * s + x) * 3;
        for (let c = 0; c < 3; c++) {
          let v = src[si + c] * gain + shift;
          v = v < 0 ? 0 : Math.min(v, 255);
          out[di + c] = v / 127.5 - 1;
        }
      }
    }
  });
}

/** Inverse-frequency class weights, normalised so the average weight over the data is 1. */
export function classWeights(labels: number[], numClasses: number): number[] {
  const counts = new Array(numClasses).fill(0);
  for (const l of labels) counts[l]++;
  const n = labels.length;
  return counts.map((c) => (c === 0 ? 0 : n / (numClasses * c)));
}
