/**
 * Loops for the broadcasts that dominate training, used by elementwise-kernels.ts before its
 * general row walk: equal shapes, a scalar operand, and a per-channel ([C] or [1, .., 1, C])
 * operand against a full NHWC tensor. No offset tables, one plain loop each; the expressions are the
 * general loops' own, so results are identical. Pure, no tfjs.
 */

export enum Layout {
  Same,
  ScalarB,
  ScalarA,
  ChannelB,
  ChannelA,
}

/** out = a (op) b laid out as `layout`; c is the channel count for the Channel layouts. */
export type FlatLoop = (
  a: Float32Array,
  b: Float32Array,
  out: Float32Array,
  layout: Layout,
  c: number,
) => void;

/** Which flat layout applies, or null for the general broadcast walk. */
export function flatLayout(
  aShape: readonly number[],
  aSize: number,
  bShape: readonly number[],
  bSize: number,
  outShape: readonly number[],
): { layout: Layout; c: number } | null {
  const n = outShape.reduce((p, d) => p * d, 1);
  const c = outShape.length === 0 ? 1 : outShape[outShape.length - 1];
  const perChannel = (shape: readonly number[], size: number) =>
    size === c && shape.length > 0 && shape[shape.length - 1] === c;
  if (aSize === n && bSize === n) return { layout: Layout.Same, c };
  if (aSize === n && bSize === 1) return { layout: Layout.ScalarB, c };
  if (bSize === n && aSize === 1) return { layout: Layout.ScalarA, c };
  if (c === 0) return null;
  if (aSize === n && perChannel(bShape, bSize)) return { layout: Layout.ChannelB, c };
  if (bSize === n && perChannel(aShape, aSize)) return { layout: Layout.ChannelA, c };
  return null;
}

export const addFlat: FlatLoop = (a, b, out, layout, c) => {
  const n = out.length;
  if (layout === Layout.Same) for (let i = 0; i < n; i++) out[i] = a[i] + b[i];
  else if (layout === Layout.ScalarB) {
    const s = b[0];
    for (let i = 0; i < n; i++) out[i] = a[i] + s;
  } else if (layout === Layout.ScalarA) {
    const s = a[0];
    for (let i = 0; i < n; i++) out[i] = s + b[i];
  } else if (layout === Layout.ChannelB) {
    for (let i = 0; i < n; i += c) for (let k = 0; k < c; k++) out[i + k] = a[i + k] + b[k];
  } else for (let i = 0; i < n; i += c) for (let k = 0; k < c; k++) out[i + k] = a[k] + b[i + k];
};

export const subFlat: FlatLoop = (a, b, out, layout, c) => {
  const n = out.length;
  if (layout === Layout.Same) for (let i = 0; i < n; i++) out[i] = a[i] - b[i];
  else if (layout === Layout.ScalarB) {
    const s = b[0];
    for (let i = 0; i < n; i++) out[i] = a[i] - s;
  } else if (layout === Layout.ScalarA) {
    const s = a[0];
    for (let i = 0; i < n; i++) out[i] = s - b[i];
  } else if (layout === Layout.ChannelB) {
    for (let i = 0; i < n; i += c) for (let k = 0; k < c; k++) out[i + k] = a[i + k] - b[k];
  } else for (let i = 0; i < n; i += c) for (let k = 0; k < c; k++) out[i + k] = a[k] - b[i + k];
};

export const mulFlat: FlatLoop = (a, b, out, layout, c) => {
  const n = out.length;
  if (layout === Layout.Same) for (let i = 0; i < n; i++) out[i] = a[i] * b[i];
  else if (layout === Layout.ScalarB) {
    const s = b[0];
    for (let i = 0; i < n; i++) out[i] = a[i] * s;
  } else if (layout === Layout.ScalarA) {
    const s = a[0];
    for (let i = 0; i < n; i++) out[i] = s * b[i];
  } else if (layout === Layout.ChannelB) {
    for (let i = 0; i < n; i += c) for (let k = 0; k < c; k++) out[i + k] = a[i + k] * b[k];
  } else for (let i = 0; i < n; i += c) for (let k = 0; k < c; k++) out[i + k] = a[k] * b[i + k];
};

export const divFlat: FlatLoop = (a, b, out, layout, c) => {
  const n = out.length;
  if (layout === Layout.Same) for (let i = 0; i < n; i++) out[i] = a[i] / b[i];
  else if (layout === Layout.ScalarB) {
    const s = b[0];
    for (let i = 0; i < n; i++) out[i] = a[i] / s;
  } else if (layout === Layout.ScalarA) {
    const s = a[0];
    for (let i = 0; i < n; i++) out[i] = s / b[i];
  } else if (layout === Layout.ChannelB) {
    for (let i = 0; i < n; i += c) for (let k = 0; k < c; k++) out[i + k] = a[i + k] / b[k];
  } else for (let i = 0; i < n; i += c) for (let k = 0; k < c; k++) out[i + k] = a[k] / b[i + k];
};
