/**
 * Procedurally drawn scenes: a patterned object (the class) on a varied background. The demo's
 * dataset and the synthetic camera both draw from here, so a frame's true class can always be
 * recomputed from its (seed, index) — which is how the demo stands in for a person labelling.
 *
 * Classes are patterns (horizontal stripes, vertical bars, checks, dots) rather than outlines:
 * a pooled CNN learns texture within a demo's training budget, and it still has to ignore colour,
 * lighting and clutter to get them right.
 *
 * `difficulty` moves scenes from clean studio shots (0) towards hard field conditions (1): the
 * object covers less of the frame, contrast drops, light and rotation vary more, sensor noise and
 * distracting blobs appear. Pure TypeScript on RGB bytes, no image library, so every package may use it.
 */

export const SYNTHETIC_CLASSES = ['stripes', 'bars', 'checks', 'dots'] as const;

export interface SceneOptions {
  width: number;
  height: number;
  difficulty: number;
  classes?: readonly string[];
}

export interface Scene {
  label: string;
  width: number;
  height: number;
  /** RGB, row-major, 3 bytes per pixel. */
  data: Uint8Array;
}

/** mulberry32: small, fast, deterministic. */
export function createRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit avalanche mix (lowbias32): every input bit affects every output bit. */
function mix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Stream seed and frame index mixed so that neighbouring (seed, index) pairs never collide. */
function mixSeed(seed: number, index: number): number {
  return mix32(mix32(seed) + Math.imul(index + 1, 0x9e3779b9));
}

/** Pattern value (0 or 1) at (u, v) in pattern space, in units of one period. */
type Pattern = (u: number, v: number) => number;

function patternOf(label: string): Pattern {
  const frac = (x: number) => x - Math.floor(x);
  switch (label) {
    case 'stripes':
      return (_u, v) => (frac(v) < 0.5 ? 1 : 0);
    case 'bars':
      return (u) => (frac(u) < 0.5 ? 1 : 0);
    case 'checks':
      return (u, v) => ((Math.floor(u) + Math.floor(v)) & 1 ? 1 : 0);
    case 'dots':
      return (u, v) => ((frac(u) - 0.5) ** 2 + (frac(v) - 0.5) ** 2 < 0.09 ? 1 : 0);
    default:
      throw new Error(`no synthetic pattern for class '${label}'`);
  }
}

function randomColor(rng: () => number): [number, number, number] {
  return [rng() * 255, rng() * 255, rng() * 255];
}

function contrastingColor(rng: () => number, bg: number[], minDistance: number): [number, number, number] {
  let best = randomColor(rng);
  for (let attempt = 0; attempt < 20; attempt++) {
    const c = randomColor(rng);
    const d = Math.hypot(c[0] - bg[0], c[1] - bg[1], c[2] - bg[2]);
    if (d >= minDistance) return c;
    best = c;
  }
  return best;
}

/** Gaussian-ish noise from the sum of uniforms (cheap, deterministic). */
function noise(rng: () => number): number {
  return rng() + rng() + rng() - 1.5;
}

export function renderScene(label: string, rng: () => number, options: SceneOptions): Scene {
  const { width, height } = options;
  const d = Math.min(1, Math.max(0, options.difficulty));
  const pattern = patternOf(label);
  const bgA = randomColor(rng);
  const bgB = randomColor(rng);
  const fgA = randomColor(rng);
  const fgB = contrastingColor(rng, fgA, 190 - 130 * d);
  const minSide = Math.min(width, height);
  // The patterned object: an axis-aligned box covering most of a studio frame, less in the field.
  const cover = 0.95 - 0.5 * d * rng();
  const boxW = width * cover;
  const boxH = height * cover;
  const x0 = (width - boxW) * rng();
  const y0 = (height - boxH) * rng();
  const period = minSide * (0.2 + 0.12 * rng());
  const angle = (rng() - 0.5) * (Math.PI / 9) * (0.3 + d);
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const phaseU = rng();
  const phaseV = rng();
  const light = 1 + (rng() - 0.5) * 0.9 * d;
  const sigma = 5 + 45 * d;
  const clutter = Array.from({ length: Math.floor(d * 5 * rng()) }, () => ({
    x: rng() * width,
    y: rng() * height,
    r: minSide * (0.05 + 0.08 * rng()),
    color: randomColor(rng),
  }));
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = (x / width + y / height) / 2;
      let color: number[] = [
        bgA[0] * (1 - t) + bgB[0] * t,
        bgA[1] * (1 - t) + bgB[1] * t,
        bgA[2] * (1 - t) + bgB[2] * t,
      ];
      if (x >= x0 && x < x0 + boxW && y >= y0 && y < y0 + boxH) {
        const u = (x * cos + y * sin) / period + phaseU;
        const v = (-x * sin + y * cos) / period + phaseV;
        color = pattern(u, v) ? fgB : fgA;
      }
      for (const c of clutter) {
        if ((x - c.x) ** 2 + (y - c.y) ** 2 < c.r * c.r) color = c.color;
      }
      const o = (y * width + x) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const value = color[ch] * light + noise(rng) * sigma;
        data[o + ch] = value < 0 ? 0 : Math.min(value, 255);
      }
    }
  }
  return { label, width, height, data };
}

/** The scene at position `index` of the stream `seed`; the same arguments always give the same scene. */
export function syntheticScene(seed: number, index: number, options: SceneOptions): Scene {
  const classes = options.classes ?? SYNTHETIC_CLASSES;
  const rng = createRng(mixSeed(seed, index));
  const label = classes[Math.floor(rng() * classes.length)];
  return renderScene(label, rng, options);
}

/** Frame ids of synthetic frames encode their origin so the true class can be recomputed. */
export function syntheticFrameId(seed: number, index: number): string {
  return `synthetic:${seed}:${index}`;
}

export function parseSyntheticFrameId(frameId: string): { seed: number; index: number } | null {
  const m = /^synthetic:(-?\d+):(\d+)$/.exec(frameId);
  return m ? { seed: Number(m[1]), index: Number(m[2]) } : null;
}

/** The true class of a synthetic frame, from its id; null for frames of any other camera. */
export function syntheticFrameLabel(
  frameId: string,
  classes: readonly string[] = SYNTHETIC_CLASSES,
): string | null {
  const origin = parseSyntheticFrameId(frameId);
  return origin ? syntheticLabel(origin.seed, origin.index, classes) : null;
}

/** The class of scene (seed, index) without drawing it: the first draw of its generator. */
export function syntheticLabel(
  seed: number,
  index: number,
  classes: readonly string[] = SYNTHETIC_CLASSES,
): string {
  return classes[Math.floor(createRng(mixSeed(seed, index))() * classes.length)];
}
