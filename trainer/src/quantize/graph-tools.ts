/** Small helpers over the plain OnnxModel for graph rewrites (pure). */
import type { Attribute, OnnxModel, OnnxNode, TensorInit } from '../onnx/onnx-proto.ts';
import { DataType } from '../onnx/onnx-proto.ts';

export function attr(node: OnnxNode, name: string): Attribute | undefined {
  return node.attributes?.find((a) => a.name === name);
}

export function intAttr(node: OnnxNode, name: string, fallback: number): number {
  const a = attr(node, name);
  return a?.type === 'int' ? a.value : fallback;
}

export function floatAttr(node: OnnxNode, name: string, fallback: number): number {
  const a = attr(node, name);
  return a?.type === 'float' ? a.value : fallback;
}

export function tensorFloats(t: TensorInit): Float32Array {
  if (t.dataType !== DataType.FLOAT) throw new Error(`tensor ${t.name} is not float32`);
  const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
  return Float32Array.from({ length: t.rawData.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
}

export function floatInit(name: string, dims: readonly number[], data: ArrayLike<number>): TensorInit {
  const rawData = new Uint8Array(data.length * 4);
  const view = new DataView(rawData.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i], true);
  return { name, dataType: DataType.FLOAT, dims, rawData };
}

export function int32Init(name: string, dims: readonly number[], data: ArrayLike<number>): TensorInit {
  const rawData = new Uint8Array(data.length * 4);
  const view = new DataView(rawData.buffer);
  for (let i = 0; i < data.length; i++) view.setInt32(i * 4, data[i], true);
  return { name, dataType: DataType.INT32, dims, rawData };
}

export function int64Init(name: string, dims: readonly number[], data: readonly number[]): TensorInit {
  const rawData = new Uint8Array(data.length * 8);
  const view = new DataView(rawData.buffer);
  for (const [i, v] of data.entries()) view.setBigInt64(i * 8, BigInt(v), true);
  return { name, dataType: DataType.INT64, dims, rawData };
}

/** int8 or uint8 values (two's complement bytes for int8). */
export function byteInit(
  name: string,
  dims: readonly number[],
  data: ArrayLike<number>,
  signed: boolean,
): TensorInit {
  const rawData = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) rawData[i] = data[i] & 0xff;
  return { name, dataType: signed ? DataType.INT8 : DataType.UINT8, dims, rawData };
}

/** Node inputs by tensor name: who reads each value. */
export function consumersOf(model: OnnxModel): Map<string, OnnxNode[]> {
  const map = new Map<string, OnnxNode[]>();
  for (const n of model.nodes) {
    for (const i of n.inputs) {
      if (!i) continue;
      const list = map.get(i) ?? [];
      if (!list.includes(n)) list.push(n);
      map.set(i, list);
    }
  }
  return map;
}

/**
 * The nodes along the single-reader chain from the graph's first input, in order: each value on
 * it (the input, then each node's first output) is read by exactly one node, the next one.
 */
export function inputChain(model: OnnxModel, limit = 64): OnnxNode[] {
  const consumers = consumersOf(model);
  const chain: OnnxNode[] = [];
  let value = model.inputs[0]?.name;
  while (value && chain.length < limit) {
    const readers = consumers.get(value) ?? [];
    if (readers.length !== 1) break;
    chain.push(readers[0]);
    value = readers[0].outputs[0];
  }
  return chain;
}

export function producersOf(model: OnnxModel): Map<string, OnnxNode> {
  const map = new Map<string, OnnxNode>();
  for (const n of model.nodes) for (const o of n.outputs) map.set(o, n);
  return map;
}

/** Renames a value wherever it is read. */
export function renameInputs(model: OnnxModel, from: string, to: string): void {
  for (const n of model.nodes) n.inputs = n.inputs.map((i) => (i === from ? to : i));
}

/**
 * Which values are float32, by propagation from the graph inputs and initializers: Cast decides
 * by its `to`, Shape is int64, every other op's output has its first input's type. Enough for the
 * image classifiers handled here, without a full shape/type inference.
 */
export function floatValues(model: OnnxModel): Set<string> {
  const floats = new Set<string>();
  for (const i of model.inputs) if (i.elemType === DataType.FLOAT) floats.add(i.name);
  for (const t of model.initializers) if (t.dataType === DataType.FLOAT) floats.add(t.name);
  for (const n of model.nodes) {
    let isFloat: boolean;
    if (n.opType === 'Cast') isFloat = intAttr(n, 'to', 0) === DataType.FLOAT;
    else if (n.opType === 'Shape' || n.opType === 'Size') isFloat = false;
    else if (n.opType === 'Constant') {
      const v = attr(n, 'value');
      isFloat = v?.type === 'tensor' ? v.value.dataType === DataType.FLOAT : attr(n, 'value_float') != null;
    } else isFloat = floats.has(n.inputs[0]);
    if (isFloat) for (const o of n.outputs) floats.add(o);
  }
  return floats;
}

/** A fresh value name not used anywhere in the model. */
export function nameAllocator(model: OnnxModel): (base: string) => string {
  const used = new Set<string>();
  for (const n of model.nodes) for (const v of [...n.inputs, ...n.outputs, n.name]) used.add(v);
  for (const t of model.initializers) used.add(t.name);
  for (const v of [...model.inputs, ...model.outputs]) used.add(v.name);
  return (base) => {
    let name = base;
    for (let i = 1; used.has(name); i++) name = `${base}_${i}`;
    used.add(name);
    return name;
  };
}
