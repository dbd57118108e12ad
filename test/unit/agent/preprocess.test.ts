import { type InputSpec, InputSpecSchema } from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import { createSharpImageCodec } from '../../../agent/src/image/sharp-image.ts';
import { blankInput, preprocessFrame, tensorFromRgb } from '../../../agent/src/inference/preprocess.ts';

function spec(overrides: Partial<InputSpec>): InputSpec {
  return InputSpecSchema.parse({
    name: 'input',
    dtype: 'uint8',
    layout: 'NHWC',
    width: 8,
    height: 8,
    channels: 3,
    ...overrides,
  });
}

/** 8×8 image of two pixels repeated: pixel p has RGB (p*3, p*3+1, p*3+2) mod 256. */
function gradient(width = 8, height = 8) {
  const data = new Uint8Array(width * height * 3).map((_, i) => i % 256);
  return { width, height, data };
}

describe('tensorFromRgb', () => {
  it('passes raw RGB bytes through for our own uint8 NHWC models', () => {
    const rgb = gradient();
    const t = tensorFromRgb(rgb, spec({}));
    expect(t.dtype).toBe('uint8');
    expect(t.dims).toEqual([1, 8, 8, 3]);
    expect(Array.from(t.data)).toEqual(Array.from(rgb.data));
  });

  it('transposes to planar NCHW', () => {
    const rgb = gradient();
    const t = tensorFromRgb(rgb, spec({ layout: 'NCHW' }));
    expect(t.dims).toEqual([1, 3, 8, 8]);
    const plane = 64;
    // pixel 5: R at plane 0, G at plane 1, B at plane 2
    expect([t.data[5], t.data[plane + 5], t.data[2 * plane + 5]]).toEqual([15, 16, 17]);
  });

  it('swaps channels for BGR models', () => {
    const t = tensorFromRgb(gradient(), spec({ colorOrder: 'BGR' }));
    expect(Array.from(t.data.slice(0, 6))).toEqual([2, 1, 0, 5, 4, 3]);
  });

  it('normalizes float32 inputs with mean/std per model channel', () => {
    const rgb = { width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(255) };
    const t = tensorFromRgb(
      rgb,
      spec({
        dtype: 'float32',
        layout: 'NCHW',
        normalization: { kind: 'mean-std', mean: [0.5, 0.25, 0], std: [0.5, 0.25, 2] },
      }),
    );
    expect(t.data).toBeInstanceOf(Float32Array);
    expect([t.data[0], t.data[64], t.data[128]]).toEqual([1, 3, 0.5]);
  });

  it('normalizes each model channel with its own mean/std in every layout, colour order and alignment', () => {
    const normalization = {
      kind: 'mean-std' as const,
      mean: [0.1, 0.5, 0.9] as [number, number, number],
      std: [0.2, 0.4, 0.8] as [number, number, number],
    };
    // 9x8 takes the four-pixels-a-step path; 9x9 (81 pixels) and a buffer at an odd offset do not.
    const shifted = new Uint8Array(9 * 8 * 3 + 1).map((_, i) => (i * 7) % 256).subarray(1);
    const images = [gradient(9, 8), gradient(9, 9), { width: 9, height: 8, data: shifted }];
    for (const rgb of images) {
      const pixels = rgb.width * rgb.height;
      for (const layout of ['NCHW', 'NHWC'] as const) {
        for (const colorOrder of ['RGB', 'BGR'] as const) {
          const s = spec({
            dtype: 'float32',
            layout,
            colorOrder,
            width: rgb.width,
            height: rgb.height,
            normalization,
          });
          const t = tensorFromRgb(rgb, s);
          for (let p = 0; p < pixels; p++) {
            for (let c = 0; c < 3; c++) {
              const source = rgb.data[p * 3 + (colorOrder === 'BGR' ? 2 - c : c)];
              const want = (source / 255 - normalization.mean[c]) / normalization.std[c];
              const at = layout === 'NCHW' ? c * pixels + p : p * 3 + c;
              expect(t.data[at]).toBeCloseTo(want, 5);
            }
          }
        }
      }
    }
  });

  it('scales float32 inputs and leaves them alone with kind none', () => {
    const rgb = { width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(51) };
    const scaled = tensorFromRgb(
      rgb,
      spec({ dtype: 'float32', normalization: { kind: 'scale', scale: 1 / 127.5, offset: -1 } }),
    );
    expect(scaled.data[0]).toBeCloseTo(-0.6, 5);
    const none = tensorFromRgb(rgb, spec({ dtype: 'float32' }));
    expect(none.data[0]).toBe(51);
    expect(none.dims).toEqual([1, 8, 8, 3]);
  });

  it('refuses an image of the wrong size', () => {
    expect(() => tensorFromRgb(gradient(4, 4), spec({}))).toThrow(/model input wants 8x8x3/);
  });

  it('builds a blank warm-up tensor of the input shape', () => {
    const t = blankInput(spec({ dtype: 'float32', layout: 'NCHW', width: 16, height: 12 }));
    expect(t.dims).toEqual([1, 3, 12, 16]);
    expect(t.data.length).toBe(3 * 12 * 16);
  });
});

describe('preprocessFrame (real sharp)', () => {
  const codec = createSharpImageCodec();

  it('decodes a JPEG and stretches it to the input size', async () => {
    const red = { width: 40, height: 20, data: new Uint8Array(40 * 20 * 3) };
    for (let i = 0; i < 40 * 20; i++) red.data[i * 3] = 220;
    const jpeg = await codec.encodeJpeg(red, 90);
    const t = await preprocessFrame(jpeg, spec({ width: 16, height: 16 }), codec);
    expect(t.dims).toEqual([1, 16, 16, 3]);
    const [r, g, b] = [t.data[0], t.data[1], t.data[2]];
    expect(r).toBeGreaterThan(200);
    expect(g).toBeLessThan(30);
    expect(b).toBeLessThan(30);
  });

  it('drops the alpha channel of a PNG', async () => {
    const png = await codec.encodePng({ width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(9) });
    const t = await preprocessFrame(png, spec({}), codec);
    expect(t.data.length).toBe(8 * 8 * 3);
    expect(t.data[0]).toBe(9);
  });
});
