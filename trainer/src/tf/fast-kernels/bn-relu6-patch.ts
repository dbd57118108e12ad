/**
 * ReLU6 straight after a fused training-mode batch norm (layer-patches.ts): the batch norm's apply
 * pass also writes relu6(y) from the register that holds y, and the ReLU6 layer takes that tensor
 * instead of reading y again (the separate relu6 pass was pure memory traffic).
 * Values are the relu6 pass's to the bit (same SIMD ops on the same y); the ReLU6 op and its
 * gradient are unchanged. A batch norm computes the activation only when one of the layers it feeds
 * is a ReLU with a maxValue; the ReLU takes it only when its input is that batch norm's output
 * tensor and the max matches, else it runs its own pass. An activation nobody took is disposed at
 * the layer's next call.
 */
import type * as tfjs from '@tensorflow/tfjs';

type Tensor = tfjs.Tensor;

export type TfBnReluLike = Pick<typeof tfjs, 'dispose'>;

export interface FeedsLike {
  outboundNodes?: { outboundLayer?: { maxValue?: unknown; getClassName?(): string } }[];
}

/** Batch-norm outputs and the activations computed with them; entries die with the output. */
const activations = new WeakMap<Tensor, { act: Tensor; maxValue: number }>();
/** Per batch-norm layer, the activation it last kept. */
const lastKept = new WeakMap<object, Tensor>();

/** The maxValue of a ReLU among the layers `layer` feeds, or null. */
export function relu6MaxFed(layer: FeedsLike): number | null {
  for (const n of layer.outboundNodes ?? []) {
    const l = n.outboundLayer;
    if (l?.getClassName?.() === 'ReLU' && typeof l.maxValue === 'number') return l.maxValue;
  }
  return null;
}

/** Records `act` (kept by the caller) as relu6(y) with max `maxValue`, for the ReLU that follows. */
export function recordActivation(
  layer: object,
  y: Tensor,
  act: Tensor,
  maxValue: number,
  tf: TfBnReluLike,
): void {
  const stale = lastKept.get(layer);
  if (stale != null && !stale.isDisposed) tf.dispose(stale);
  lastKept.set(layer, act);
  activations.set(y, { act, maxValue });
}

/**
 * The recorded relu6(y) for this max, or null. The caller owns the tensor (it was kept) and
 * disposes it once it made its own reference.
 */
export function takeActivation(y: Tensor, maxValue: number): Tensor | null {
  const e = activations.get(y);
  if (e == null) return null;
  activations.delete(y);
  return e.maxValue === maxValue && !e.act.isDisposed ? e.act : null;
}
