/**
 * Procedurally drawn scenes: one shape (the class) on a varied background. The demo's dataset and
 * the synthetic camera both draw from here, so a frame's true class can always be recomputed from
 * its (seed, index) — which is how the demo stands in for a person labelling.
 *
 * `difficulty` moves scenes from clean studio shots (0) towards hard field conditions (1): smaller
 * shapes, lower contrast, darker or brighter light, more sensor noise and distracting clutter.
 * Pure TypeScript on RGB bytes, no image library, so every package may use it.
 */

export const SYNTHETIC_CLASSES = ['circle', 'square', 'triangle', 'cross'] as const;

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

function mixSeed(seed: number, index: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (index + 0x7f4a7c15), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

type Inside = (u: number, v: number) => boolean;

function shapeTest(label: string): Inside {
  switch (label) {
    case 'circle':
      return (u, v) => u * u + v * v < 1;
    case 'square':
      return (u, v) => Math.abs(u) < 0.8 && Math.abs(v) < 0.8;
    case 'triangle':
      // Equilateral, pointing up in shape space: three half-planes.
      return (u, v) => v < 0.7 && v > -1 + 1.7 * Math.abs(u);
    case 'cross':
      return (u, v) => (Math.abs(u) < 0.28 && Math.abs(v) < 1) || (Math.abs(v) < 0.28 && Math.abs(u) < 1);
    default:
      throw new Error(`no synthetic shape for class '${label}'`);
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
  const inside = shapeTest(label);
  const bgA = randomColor(rng);
  const bgB = randomColor(rng);
  const fg = contrastingColor(rng, bgA, 160 - 110 * d);
  const minSide = Math.min(width, height);
  const radius = minSide * (0.42 - 0.22 * d * rng() - 0.08 * rng());
  const cx = width / 2 + (rng() - 0.5) * (width - 2 * radius) * 0.8;
  const cy = height / 2 + (rng() - 0.5) * (height - 2 * radius) * 0.8;
  const angle = (rng() - 0.5) * Math.PI * 0.5 * (0.3 + d);
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const light = 1 + (rng() - 0.5) * 0.9 * d;
  const sigma = 6 + 55 * d;
  const clutter = Array.from({ length: Math.floor(d * 4 * rng()) }, () => ({
    x: rng() * width,
    y: rng() * height,
    r: minSide * (0.04 + 0.06 * rng()),
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
      const dx = (x - cx) / radius;
      const dy = (y - cy) / radius;
      if (inside(dx * cos + dy * sin, -dx * sin + dy * cos)) color = fg;
      for (const c of clutter) {
        if ((x - c.x) ** 2 + (y - c.y) ** 2 < c.r * c.r) color = c.color;
      }
      const o = (y * width + x) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const v = color[ch] * light + noise(rng) * sigma;
        data[o + ch] = v < 0 ? 0 : v > 255 ? 255 : v;
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
