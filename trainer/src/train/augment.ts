/**
 * Training-split augmentation on decoded RGB bytes (pure, seeded): horizontal flip, rotation,
 * zoom (crop in / out), shear, a small shift, and brightness/contrast jitter. One random affine map
 * per image, sampled bilinearly with edge clamping, so the image never gains black corners that the
 * validation images do not have.
 */

export interface AugmentConfig {
  flip: boolean;
  /** Maximum rotation, degrees either way. */
  rotationDeg: number;
  /** Zoom factor range around 1: [1 - zoom, 1 + zoom] (> 1 crops in). */
  zoom: number;
  /** Maximum horizontal shear (x += shear * y), either way. */
  shear: number;
  /** Maximum shift as a fraction of the side. */
  shift: number;
  /** Brightness gain range [1 - b, 1 + b]; contrast gets half of it. */
  brightness: number;
}

export const DEFAULT_AUGMENT: AugmentConfig = {
  flip: true,
  rotationDeg: 12,
  zoom: 0.15,
  shear: 0.1,
  shift: 0.08,
  brightness: 0.2,
};

const clampByte = (v: number) => Math.min(255, Math.max(0, v));

/** Returns a new size*size*3 image; `rng` decides every parameter, so a seeded rng repeats exactly. */
export function augmentImage(
  src: Uint8Array,
  size: number,
  rng: () => number,
  cfg: AugmentConfig = DEFAULT_AUGMENT,
): Uint8Array {
  const sym = () => rng() * 2 - 1;
  const flip = cfg.flip && rng() < 0.5 ? -1 : 1;
  const angle = (sym() * cfg.rotationDeg * Math.PI) / 180;
  const zoom = 1 + sym() * cfg.zoom;
  const shear = sym() * cfg.shear;
  const tx = sym() * cfg.shift * size;
  const ty = sym() * cfg.shift * size;
  const gain = 1 + sym() * cfg.brightness;
  const contrast = 1 + sym() * cfg.brightness * 0.5;
  // Inverse map from output (u, v) around the centre to source (x, y).
  const cos = Math.cos(angle) / zoom;
  const sin = Math.sin(angle) / zoom;
  const c = (size - 1) / 2;
  const out = new Uint8Array(size * size * 3);
  let mean = 0;
  for (let i = 0; i < src.length; i++) mean += src[i];
  mean /= src.length || 1;
  const max = size - 1;
  for (let v = 0; v < size; v++) {
    const dv = v - c - ty;
    for (let u = 0; u < size; u++) {
      const du = (u - c - tx) * flip + shear * dv;
      let x = cos * du - sin * dv + c;
      let y = sin * du + cos * dv + c;
      x = Math.min(max, Math.max(0, x));
      y = Math.min(max, Math.max(0, y));
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      const x1 = Math.min(x0 + 1, max);
      const y1 = Math.min(y0 + 1, max);
      const fx = x - x0;
      const fy = y - y0;
      const o = (v * size + u) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const a = src[(y0 * size + x0) * 3 + ch];
        const b = src[(y0 * size + x1) * 3 + ch];
        const d = src[(y1 * size + x0) * 3 + ch];
        const e = src[(y1 * size + x1) * 3 + ch];
        const val = (a * (1 - fx) + b * fx) * (1 - fy) + (d * (1 - fx) + e * fx) * fy;
        out[o + ch] = clampByte(Math.round(((val - mean) * contrast + mean) * gain));
      }
    }
  }
  return out;
}
