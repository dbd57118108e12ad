/** Pure helpers that turn decoded images into training batches (no tfjs here). */
export interface EncodedSet {
  size: number;
  /** One RGB byte array of size*size*3 per image. */
  images: Uint8Array[];
  labels: number[];
  /** sha256 of each image file (bottleneck cache keys, augmentation seeds). */
  hashes: string[];
}

/**
 * Per-channel input normalisation `(pixel - mean) / std`. Pretrained MobileNets use mean = std =
 * 127.5 ([-1, 1]); from scratch it is measured on the training split. The ONNX exporter folds it
 * into the graph, so devices feed raw uint8 pixels.
 */
export interface Normalization {
  mean: [number, number, number];
  std: [number, number, number];
}

export const MOBILENET_NORMALIZATION: Normalization = {
  mean: [127.5, 127.5, 127.5],
  std: [127.5, 127.5, 127.5],
};

/** Per-channel mean and standard deviation of the pixels of `images`. */
export function measureNormalization(images: Uint8Array[]): Normalization {
  const sum = [0, 0, 0];
  const sq = [0, 0, 0];
  let n = 0;
  for (const img of images) {
    for (let i = 0; i < img.length; i += 3) {
      for (let c = 0; c < 3; c++) {
        sum[c] += img[i + c];
        sq[c] += img[i + c] * img[i + c];
      }
      n++;
    }
  }
  const mean = sum.map((s) => s / Math.max(n, 1)) as Normalization['mean'];
  const std = sq.map((s, c) =>
    Math.max(1, Math.sqrt(Math.max(0, s / Math.max(n, 1) - mean[c] ** 2))),
  ) as Normalization['std'];
  return { mean, std };
}

/** The exporter's `pixel * scale + offset` form of a normalisation. */
export function onnxScaling(norm: Normalization): { scale: number[]; offset: number[] } {
  return { scale: norm.std.map((s) => 1 / s), offset: norm.mean.map((m, c) => -m / norm.std[c]) };
}

export function shuffled(n: number, rng: () => number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx;
}

/** Fills `out` (float32, NHWC) with `images` normalised per channel. */
export function fillBatch(images: Uint8Array[], out: Float32Array, norm: Normalization): void {
  const scale = norm.std.map((s) => 1 / s);
  const [m0, m1, m2] = norm.mean;
  const [s0, s1, s2] = scale;
  let o = 0;
  for (const src of images) {
    for (let i = 0; i < src.length; i += 3) {
      out[o++] = (src[i] - m0) * s0;
      out[o++] = (src[i + 1] - m1) * s1;
      out[o++] = (src[i + 2] - m2) * s2;
    }
  }
}

/** Inverse-frequency class weights, normalised so the average weight over the data is 1. */
export function classWeights(labels: number[], numClasses: number): number[] {
  const counts = new Array(numClasses).fill(0);
  for (const l of labels) counts[l]++;
  const n = labels.length;
  return counts.map((c) => (c === 0 ? 0 : n / (numClasses * c)));
}

/** Images per class index. */
export function classCounts(labels: number[], numClasses: number): number[] {
  const counts = new Array(numClasses).fill(0);
  for (const l of labels) counts[l]++;
  return counts;
}
