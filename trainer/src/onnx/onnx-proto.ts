// The subset of onnx.proto (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto) the exporter
// emits, as plain types plus encoders. Field numbers are quoted from onnx.proto.
import { ProtoWriter } from './protobuf-writer.ts';

/** TensorProto.DataType values used here (the reader keeps any other value as a plain number). */
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7 } as const;
export type DataTypeValue = number;

export type TensorInit = {
  name: string;
  dataType: DataTypeValue;
  dims: readonly number[];
  /** Little-endian element bytes (TensorProto.raw_data). */
  rawData: Uint8Array;
};

export type Attribute =
  | { name: string; type: 'int'; value: number }
  | { name: string; type: 'ints'; value: readonly number[] }
  | { name: string; type: 'float'; value: number }
  | { name: string; type: 'string'; value: string }
  | { name: string; type: 'floats'; value: readonly number[] }
  | { name: string; type: 'tensor'; value: TensorInit };

export type OnnxNode = {
  name: string;
  opType: string;
  inputs: string[];
  outputs: string[];
  attributes?: Attribute[];
  /** Operator set domain; '' (the default) is ai.onnx, e.g. 'com.microsoft' for contrib ops. */
  domain?: string;
};

/** A dimension is a fixed size or a symbolic name (dim_param). */
export type Dim = number | string;

/** `shape` undefined means unknown rank (no TypeProto.Tensor.shape), e.g. calibration outputs. */
export type ValueInfo = { name: string; elemType: DataTypeValue; shape?: readonly Dim[] };

export type OpsetId = { domain: string; version: number };

export type OnnxModel = {
  irVersion: number;
  opsetVersion: number;
  producerName: string;
  producerVersion: string;
  graphName: string;
  nodes: OnnxNode[];
  initializers: TensorInit[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  metadata: Record<string, string>;
  /** Replaces the single ai.onnx `opsetVersion` import when set (models read from files). */
  opsetImports?: OpsetId[];
  /** Intermediate value types (GraphProto.value_info); optional. */
  valueInfo?: ValueInfo[];
};

// AttributeProto.AttributeType
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_TENSOR = 4;
const ATTR_FLOATS = 6;
const ATTR_INTS = 7;

function encodeTensor(t: TensorInit): Uint8Array {
  // TensorProto: dims=1, data_type=2, name=8, raw_data=9
  return new ProtoWriter()
    .repeatedInt(1, t.dims)
    .int(2, t.dataType)
    .string(8, t.name)
    .bytes(9, t.rawData)
    .finish();
}

function encodeAttribute(a: Attribute): Uint8Array {
  // AttributeProto: name=1, f=2, i=3, s=4, ints=8, type=20
  const w = new ProtoWriter().string(1, a.name);
  switch (a.type) {
    case 'float':
      return w.float(2, a.value).int(20, ATTR_FLOAT).finish();
    case 'int':
      return w.int(3, a.value).int(20, ATTR_INT).finish();
    case 'string':
      return w.string(4, a.value).int(20, ATTR_STRING).finish();
    case 'ints':
      return w.repeatedInt(8, a.value).int(20, ATTR_INTS).finish();
    case 'floats':
      for (const f of a.value) w.float(7, f);
      return w.int(20, ATTR_FLOATS).finish();
    case 'tensor':
      return w.message(5, encodeTensor(a.value)).int(20, ATTR_TENSOR).finish();
  }
}

function encodeNode(n: OnnxNode): Uint8Array {
  // NodeProto: input=1, output=2, name=3, op_type=4, attribute=5, domain=7
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name).string(4, n.opType);
  for (const a of n.attributes ?? []) w.message(5, encodeAttribute(a));
  if (n.domain) w.string(7, n.domain);
  return w.finish();
}

function encodeValueInfo(v: ValueInfo): Uint8Array {
  // TensorShapeProto.Dimension: dim_value=1, dim_param=2; TensorShapeProto: dim=1
  const tensorType = new ProtoWriter().int(1, v.elemType);
  if (v.shape) {
    const shape = new ProtoWriter();
    for (const d of v.shape) {
      const dim = new ProtoWriter();
      if (typeof d === 'number') dim.int(1, d);
      else dim.string(2, d);
      shape.message(1, dim.finish());
    }
    tensorType.message(2, shape.finish());
  }
  // TypeProto.Tensor: elem_type=1, shape=2; TypeProto: tensor_type=1; ValueInfoProto: name=1, type=2
  const type = new ProtoWriter().message(1, tensorType.finish()).finish();
  return new ProtoWriter().string(1, v.name).message(2, type).finish();
}

function encodeGraph(m: OnnxModel): Uint8Array {
  // GraphProto: node=1, name=2, initializer=5, input=11, output=12, value_info=13
  const w = new ProtoWriter();
  for (const n of m.nodes) w.message(1, encodeNode(n));
  w.string(2, m.graphName);
  for (const t of m.initializers) w.message(5, encodeTensor(t));
  for (const i of m.inputs) w.message(11, encodeValueInfo(i));
  for (const o of m.outputs) w.message(12, encodeValueInfo(o));
  for (const v of m.valueInfo ?? []) w.message(13, encodeValueInfo(v));
  return w.finish();
}

export function encodeModel(m: OnnxModel): Uint8Array {
  // ModelProto: ir_version=1, producer_name=2, producer_version=3, graph=7, opset_import=8,
  // metadata_props=14. OperatorSetIdProto: domain=1, version=2. StringStringEntryProto: key=1, value=2.
  const w: ProtoWriter = new ProtoWriter()
    .int(1, m.irVersion)
    .string(2, m.producerName)
    .string(3, m.producerVersion)
    .message(7, encodeGraph(m));
  for (const o of m.opsetImports ?? [{ domain: '', version: m.opsetVersion }]) {
    w.message(8, new ProtoWriter().string(1, o.domain).int(2, o.version).finish());
  }
  for (const [key, value] of Object.entries(m.metadata)) {
    w.message(14, new ProtoWriter().string(1, key).string(2, value).finish());
  }
  return w.finish();
}

/** Float32 values as TensorProto.raw_data, which ONNX defines as little-endian whatever the host. */
export function floatTensor(name: string, dims: readonly number[], data: Float32Array): TensorInit {
  const rawData = new Uint8Array(data.length * 4);
  const view = new DataView(rawData.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i], true);
  return { name, dataType: DataType.FLOAT, dims, rawData };
}

export function int64Tensor(name: string, dims: readonly number[], data: readonly number[]): TensorInit {
  const rawData = new Uint8Array(data.length * 8);
  const view = new DataView(rawData.buffer);
  for (const [i, v] of data.entries()) view.setBigInt64(i * 8, BigInt(v), true);
  return { name, dataType: DataType.INT64, dims, rawData };
}
