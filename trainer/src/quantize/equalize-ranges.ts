/**
 * Activation range equalization. Per-tensor uint8 activations waste most of their 256 levels on
 * MobileNet: after a ReLU6 some channels reach 6 while many never exceed 0.1, so a 6/255 step
 * drowns the small channels (per-layer errors of several %, compounding over ~27 layers). For a
 * Conv → ReLU/ReLU6 → Conv (or → GlobalAveragePool → Gemm) chain, channel c of the first Conv is
 * multiplied by a_c = sqrt(R / max_c) (R the largest channel maximum, a_c capped) and the next
 * layer's weights reading channel c are divided by a_c — the same function, since ReLU commutes
 * with a positive scale. The first layer's per-channel weight scales absorb a_c for free; the next
 * layer's weights give up some precision, hence the square root. The only change in function:
 * channel c saturates at 6 / a_c (above anything calibration saw) instead of at 6. (Related: Nagel et al. 2019, cross-layer equalization, which
 * equalizes weight ranges instead and has to replace ReLU6 by ReLU to do so.)
 */
import { createTensorRunner, type TensorData } from '../inference/onnx-runner.ts';
import { DataType, encodeModel, type OnnxModel, type OnnxNode, type TensorInit } from '../onnx/onnx-proto.ts';
import { consumersOf, floatInit, intAttr, producersOf, tensorFloats } from './graph-tools.ts';

const MAX_GAIN = 32;

type Pair = {
  activation: OnnxNode;
  producer: OnnxNode;
  /** The layer that reads the activation, and how its weights index the channel. */
  consumer: OnnxNode;
  kind: 'conv' | 'depthwise' | 'gemm';
  /**
   * Graph outputs that read the pooled channels beside the head (the `features` output, an
   * Identity): they get the inverse scale, so the features a device sends keep their direction.
   */
  taps: OnnxNode[];
};

function findPairs(model: OnnxModel, skip: ReadonlySet<string>): Pair[] {
  const consumers = consumersOf(model);
  const producers = producersOf(model);
  const inits = new Map(model.initializers.map((t) => [t.name, t]));
  const isFloatInit = (v: string | undefined) => !!v && inits.get(v)?.dataType === DataType.FLOAT;
  const outputs = new Set(model.outputs.map((o) => o.name));
  const only = (v: string) => {
    const c = consumers.get(v) ?? [];
    return c.length === 1 && !outputs.has(v) ? c[0] : undefined;
  };
  const pairs: Pair[] = [];
  for (const act of model.nodes) {
    if (act.opType !== 'Relu' && act.opType !== 'Clip') continue;
    if (act.opType === 'Clip' && act.inputs[1] && !isFloatInit(act.inputs[1])) continue;
    const producer = producers.get(act.inputs[0]);
    if (producer?.opType !== 'Conv' || only(act.inputs[0]) !== act) continue;
    if (!isFloatInit(producer.inputs[1]) || !isFloatInit(producer.inputs[2])) continue;
    if ([act, producer].some((n) => skip.has(n.name))) continue;
    if (act.opType === 'Clip' && act.inputs[1] && tensorFloats(inits.get(act.inputs[1])!)[0] !== 0) continue;
    let next = only(act.outputs[0]);
    let kind: Pair['kind'] | undefined;
    let taps: OnnxNode[] = [];
    if (next?.opType === 'Conv' && next.inputs[0] === act.outputs[0] && isFloatInit(next.inputs[1])) {
      const w = inits.get(next.inputs[1])!;
      const group = intAttr(next, 'group', 1);
      kind =
        group === 1
          ? 'conv'
          : w.dims[1] === 1 && group === tensorChannels(inits.get(producer.inputs[1])!)
            ? 'depthwise'
            : undefined;
    } else if (next?.opType === 'GlobalAveragePool') {
      let x = only(next.outputs[0]);
      if ((x?.opType === 'Flatten' || x?.opType === 'Reshape') && !outputs.has(x.outputs[0])) {
        const readers = consumers.get(x.outputs[0]) ?? [];
        taps = readers.filter((r) => r.opType === 'Identity' && outputs.has(r.outputs[0]));
        const rest = readers.filter((r) => !taps.includes(r));
        x = rest.length === 1 ? rest[0] : undefined;
      }
      if (x?.opType === 'Gemm' && isFloatInit(x.inputs[1]) && intAttr(x, 'transA', 0) === 0) {
        next = x;
        kind = 'gemm';
      }
    }
    if (next && kind && !skip.has(next.name))
      pairs.push({ activation: act, producer, consumer: next, kind, taps: kind === 'gemm' ? taps : [] });
  }
  return pairs;
}

function tensorChannels(w: TensorInit): number {
  return w.dims[0];
}

/** Per-channel maxima of the activations over the calibration images (NCHW: channel = axis 1). */
async function channelMaxima(
  model: OnnxModel,
  names: string[],
  inputs: readonly TensorData[],
  threads: number,
) {
  const declared = new Set(model.outputs.map((o) => o.name));
  const runner = await createTensorRunner(
    encodeModel({
      ...model,
      outputs: [
        ...model.outputs,
        ...names.filter((n) => !declared.has(n)).map((name) => ({ name, elemType: DataType.FLOAT })),
      ],
    }),
    threads,
  );
  const maxima = new Map<string, Float32Array>();
  try {
    for (const input of inputs) {
      const out = await runner.run(input, names);
      for (const [name, v] of out) {
        const channels = v.dims[1];
        const inner = v.dims.slice(2).reduce((a, b) => a * b, 1);
        const m = maxima.get(name) ?? new Float32Array(channels);
        for (let i = 0; i < v.data.length; i++) {
          const c = Math.floor(i / inner) % channels;
          if (v.data[i] > m[c]) m[c] = v.data[i];
        }
        maxima.set(name, m);
      }
    }
  } finally {
    await runner.release();
  }
  return maxima;
}

/** Swaps an initializer's data; `inits` must follow, since a middle layer is rescaled twice. */
function replace(model: OnnxModel, inits: Map<string, TensorInit>, t: TensorInit, data: Float32Array): void {
  const fresh = floatInit(t.name, t.dims, data);
  model.initializers[model.initializers.indexOf(t)] = fresh;
  inits.set(t.name, fresh);
}

/** Rescales channels in place; returns how many Conv pairs were equalized. */
export async function equalizeActivationRanges(
  model: OnnxModel,
  inputs: readonly TensorData[],
  options: { keepFloat?: ReadonlySet<string>; threads?: number } = {},
): Promise<number> {
  const pairs = findPairs(model, options.keepFloat ?? new Set());
  if (pairs.length === 0) return 0;
  // Weights shared between layers cannot be rescaled for one of them.
  const readers = new Map<string, number>();
  for (const n of model.nodes) for (const i of n.inputs) readers.set(i, (readers.get(i) ?? 0) + 1);
  const maxima = await channelMaxima(
    model,
    pairs.map((p) => p.activation.outputs[0]),
    inputs,
    options.threads ?? 2,
  );
  const inits = new Map(model.initializers.map((t) => [t.name, t]));
  let done = 0;
  for (const p of pairs) {
    const [w1, b1, w2] = [p.producer.inputs[1], p.producer.inputs[2], p.consumer.inputs[1]].map(
      (n) => inits.get(n)!,
    );
    if ([w1, b1, w2].some((t) => (readers.get(t.name) ?? 0) !== 1)) continue;
    const m = maxima.get(p.activation.outputs[0])!;
    const top = Math.max(...m);
    if (!(top > 0)) continue;
    // Half way (in log scale) to the largest channel: the next layer's weights shrink by the same
    // factor, and their per-channel int8 range is shared by all input channels, so the square root
    // balances activation and weight precision (measured: better than the full ratio).
    const gain = Float32Array.from(m, (v) =>
      v > 0 ? Math.min(MAX_GAIN, Math.max(1, Math.sqrt(top / v))) : 1,
    );
    const a = tensorFloats(w1);
    const b = tensorFloats(b1);
    const perOut = a.length / gain.length;
    for (let c = 0; c < gain.length; c++) {
      for (let j = c * perOut; j < (c + 1) * perOut; j++) a[j] *= gain[c];
      b[c] *= gain[c];
    }
    const d = tensorFloats(w2);
    if (p.kind === 'conv') {
      // [O, C, kh, kw]: input channel c is the second index.
      const k = w2.dims[2] * w2.dims[3];
      for (let i = 0; i < d.length; i++) d[i] /= gain[Math.floor(i / k) % gain.length];
    } else if (p.kind === 'depthwise') {
      // [C * multiplier, 1, kh, kw]: output channel o reads input channel floor(o / multiplier).
      const perChannel = d.length / gain.length;
      for (let i = 0; i < d.length; i++) d[i] /= gain[Math.floor(i / perChannel)];
    } else {
      // Gemm B: [K, N] reads channel k in row k; transposed [N, K] in column k.
      const transB = intAttr(p.consumer, 'transB', 0) === 1;
      const cols = w2.dims[1];
      for (let i = 0; i < d.length; i++) d[i] /= gain[transB ? i % cols : Math.floor(i / cols)];
    }
    replace(model, inits, w1, a);
    replace(model, inits, b1, b);
    replace(model, inits, w2, d);
    for (const tap of p.taps) {
      // Identity → Mul by 1 / a_c (broadcast over [N, C]): the output is what it was before.
      const unscale = floatInit(
        `${tap.outputs[0]}_unscale`,
        [gain.length],
        Float32Array.from(gain, (v) => 1 / v),
      );
      model.initializers.push(unscale);
      inits.set(unscale.name, unscale);
      tap.opType = 'Mul';
      tap.inputs = [tap.inputs[0], unscale.name];
    }
    done++;
  }
  return done;
}
