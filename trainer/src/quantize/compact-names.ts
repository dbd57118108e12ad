/**
 * Shrinks what the int8 file spends on bookkeeping rather than numbers, as the last step before
 * encoding. A small int8 MobileNet (V1 α0.25) spends a few percent of its file on value names
 * ("conv_pw_13_relu/Relu6:0_q_dq" and the like, each written once where it is made and once per
 * reader) — enough to miss the 30%-of-fp32 size target. So:
 *  - every value that is not a graph input or output gets a short base-36 name ("0", "1", … "a2");
 *    node names stay, so profiles and `--keep-float` still speak of conv_pw_13;
 *  - identical scalar initializers (the zero points of uint8 activations, mostly 0) are stored once.
 * Nothing reads internal value names: devices bind inputs and outputs only.
 */
import type { OnnxModel, TensorInit } from '../onnx/onnx-proto.ts';

/** Byte-identical scalar initializers (same type and value) become one; returns how many went. */
export function shareScalarInitializers(model: OnnxModel): number {
  const interface_ = new Set([...model.inputs, ...model.outputs].map((v) => v.name));
  const first = new Map<string, string>();
  const alias = new Map<string, string>();
  const kept: TensorInit[] = [];
  for (const t of model.initializers) {
    if (t.dims.length > 0 || interface_.has(t.name)) {
      kept.push(t);
      continue;
    }
    const key = `${t.dataType}:${Array.from(t.rawData).join(',')}`;
    const same = first.get(key);
    if (same === undefined) {
      first.set(key, t.name);
      kept.push(t);
    } else alias.set(t.name, same);
  }
  model.initializers = kept;
  for (const n of model.nodes) n.inputs = n.inputs.map((v) => alias.get(v) ?? v);
  return alias.size;
}

/** Renames every internal value (activations and initializers) to a short unique name. */
export function shortenValueNames(model: OnnxModel): void {
  const interface_ = new Set([...model.inputs, ...model.outputs].map((v) => v.name));
  const names = new Map<string, string>();
  let counter = 0;
  const short = (v: string): string => {
    // '' marks an omitted optional input (onnx.proto NodeProto.input) and must stay empty.
    if (!v || interface_.has(v)) return v;
    let s = names.get(v);
    if (s === undefined) {
      do s = (counter++).toString(36);
      while (interface_.has(s));
      names.set(v, s);
    }
    return s;
  };
  for (const t of model.initializers) t.name = short(t.name);
  for (const n of model.nodes) {
    n.inputs = n.inputs.map(short);
    n.outputs = n.outputs.map(short);
  }
  model.valueInfo = model.valueInfo?.map((v) => ({ ...v, name: short(v.name) }));
}

export function compactNames(model: OnnxModel): void {
  shareScalarInitializers(model);
  shortenValueNames(model);
}
