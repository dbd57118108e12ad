/**
 * Fast 'cpu' kernel for FusedBatchNorm (tf.batchNorm, the forward pass of BatchNormalization) with
 * float32 per-channel ([C]) or scalar statistics. The stock kernel walks each statistic with its own
 * wrapping index; here the per-channel square roots are taken once and the loop runs over rows. The
 * expression is the stock one, so results are bit-identical.
 */
import {
  attrsOf,
  type FastKernelSpec,
  f32Input,
  type KernelArgs,
  makeF32,
  type TensorInfo,
} from './kernel-util.ts';

/** A statistic as a length-C vector (a scalar is repeated), or null when it is neither. */
function perChannel(args: KernelArgs, name: string, channels: number, absent: number): Float64Array | null {
  if (args.inputs[name] == null) return new Float64Array(channels).fill(absent);
  const t = f32Input(args, name);
  if (t == null) return null;
  if (t.values.length === 1) return new Float64Array(channels).fill(t.values[0]);
  return t.values.length === channels && t.shape.at(-1) === channels ? Float64Array.from(t.values) : null;
}

function batchNorm(args: KernelArgs): TensorInfo | null {
  const x = f32Input(args, 'x');
  if (x == null || x.shape.length === 0) return null;
  const channels = x.shape[x.shape.length - 1];
  if (channels === 0) return null;
  const mean = perChannel(args, 'mean', channels, 0);
  const variance = perChannel(args, 'variance', channels, 1);
  const scale = perChannel(args, 'scale', channels, 1);
  const offset = perChannel(args, 'offset', channels, 0);
  if (mean == null || variance == null || scale == null || offset == null) return null;
  const eps = (attrsOf(args).varianceEpsilon ?? 0.001) as number;
  const root = variance.map((v) => Math.sqrt(v + eps));
  const xv = x.values;
  const out = new Float32Array(xv.length);
  for (let i = 0; i < xv.length; i += channels) {
    for (let c = 0; c < channels; c++) {
      out[i + c] = offset[c] + ((xv[i + c] - mean[c]) * scale[c]) / root[c];
    }
  }
  return makeF32(args.backend, x.shape, out);
}

export function batchNormKernels(): FastKernelSpec[] {
  return [{ kernelName: 'FusedBatchNorm', create: (_tf, stock) => (args) => batchNorm(args) ?? stock(args) }];
}
