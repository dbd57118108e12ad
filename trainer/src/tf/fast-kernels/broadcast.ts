/**
 * Broadcasting (NumPy rules, as tfjs applies them) seen as rows: the output is a [rows, p] matrix
 * with p its last dimension, and each operand is walked by a start offset per row plus a stride of 1
 * (it has the last axis) or 0 (it is broadcast along it). Pure, no tfjs.
 */

export interface RowWalk {
  /** Start offset in the operand of each output row. */
  offsets: Int32Array;
  /** Step along the last axis: 1, or 0 when the operand is broadcast along it. */
  inner: number;
}

/** How an operand of `shape` is read for an output of `outShape`; null if it does not broadcast. */
export function rowWalk(shape: readonly number[], outShape: readonly number[]): RowWalk | null {
  const rank = outShape.length;
  if (shape.length > rank) return null;
  const padded = [...new Array(rank - shape.length).fill(1), ...shape];
  const strides = new Array<number>(rank).fill(0);
  let stride = 1;
  for (let d = rank - 1; d >= 0; d--) {
    if (padded[d] === outShape[d]) strides[d] = stride;
    else if (padded[d] !== 1) return null;
    stride *= padded[d];
  }
  const { rows } = rowsOf(outShape);
  const offsets = new Int32Array(rows);
  // Odometer over the leading axes, innermost leading axis fastest.
  const idx = new Array<number>(Math.max(rank - 1, 0)).fill(0);
  let off = 0;
  for (let r = 0; r < rows; r++) {
    offsets[r] = off;
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]++;
      off += strides[d];
      if (idx[d] < outShape[d]) break;
      off -= strides[d] * idx[d];
      idx[d] = 0;
    }
  }
  return { offsets, inner: rank === 0 ? 0 : strides[rank - 1] };
}

/** Number of rows and row length p of an output shape viewed as [rows, p]. */
export function rowsOf(outShape: readonly number[]): { rows: number; p: number } {
  const p = outShape.length === 0 ? 1 : outShape[outShape.length - 1];
  const rows = outShape.length <= 1 ? 1 : outShape.slice(0, -1).reduce((a, b) => a * b, 1);
  return { rows, p };
}
