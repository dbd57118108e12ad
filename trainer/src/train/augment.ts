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
  // Inverse map from output (u, v) around the centre to source (x, y); affine, so x and y step
  // by a constant along a row.
  const cos = Math.cos(angle) / zoom;
  const sin = Math.sin(angle) / zoom;
  const c = (size - 1) / 2;
  const out = new Uint8Array(size * size * 3);
  let mean = 0;
  for (let i = 0; i < src.length; i++) mean += src[i];
  mean /= src.length || 1;
  // Brightness and contrast as a lookup table over the interpolated value.
  const lut = new Uint8Array(256);
  for (let val = 0; val < 256; val++)
    lut[val] = clampByte(Math.round(((val - mean) * contrast + mean) * gain));
  const max = size - 1;
  const dxdu = cos * flip;
  const dydu = sin * flip;
  let o = 0;
  for (let v = 0; v < size; v++) {
    const dv = v - c - ty;
    const du0 = (0 - c - tx) * flip + shear * dv;
    let x = cos * du0 - sin * dv + c;
    let y = sin * du0 + cos * dv + c;
    for (let u = 0; u < size; u++, x += dxdu, y += dydu) {
      const cx = Math.min(max, Math.max(0, x));
      const cy = Math.min(max, Math.max(0, y));
      const x0 = cx | 0;
      const y0 = cy | 0;
      const fx = cx - x0;
      const fy = cy - y0;
      const r0 = y0 * size;
      const r1 = (y0 < max ? y0 + 1 : max) * size;
      const x1 = x0 < max ? x0 + 1 : max;
      const a = (r0 + x0) * 3;
      const b = (r0 + x1) * 3;
      const d = (r1 + x0) * 3;
      const e = (r1 + x1) * 3;
      const wa = (1 - fx) * (1 - fy);
      const wb = fx * (1 - fy);
      const wd = (1 - fx) * fy;
      const we = fx * fy;
      out[o++] = lut[(src[a] * wa + src[b] * wb + src[d] * wd + src[e] * we + 0.5) | 0];
      out[o++] = lut[(src[a + 1] * wa + src[b + 1] * wb + src[d + 1] * wd + src[e + 1] * we + 0.5) | 0];
      out[o++] = lut[(src[a + 2] * wa + src[b + 2] * wb + src[d + 2] * wd + src[e + 2] * we + 0.5) | 0];
    }
  }
  return out;
}
