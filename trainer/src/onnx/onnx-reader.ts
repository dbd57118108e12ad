/**
 * Decodes an ONNX ModelProto into the same plain OnnxModel the exporter writes, so a model can be
 * read, rewritten (quantized) and encoded again. Field numbers are quoted from onnx.proto. Typed
 * data fields (float_data, int64_data, int32_data) are normalised into little-endian raw_data.
 */
import { OnnxExportError } from './errors.ts';
import type { Attribute, Dim, OnnxModel, OnnxNode, OpsetId, TensorInit, ValueInfo } from './onnx-proto.ts';
import { DataType } from './onnx-proto.ts';
import { type Field, fields, int, pushFloats, pushInts, str } from './protobuf-reader.ts';

/** Bytes per element of the tensor types a classifier's initializers use. */
const ELEMENT_BYTES: Record<number, number> = {
  1: 4,
  2: 1,
  3: 1,
  4: 2,
  5: 2,
  6: 4,
  7: 8,
  9: 1,
  10: 2,
  11: 8,
};

function decodeTensor(buf: Uint8Array): TensorInit {
  // TensorProto: dims=1, data_type=2, float_data=4, int32_data=5, int64_data=7, name=8, raw_data=9,
  // double_data=10, external_data=13, data_location=14
  const dims: number[] = [];
  let dataType = 0;
  let name = '';
  let raw: Uint8Array | null = null;
  const floats: number[] = [];
  const ints32: number[] = [];
  const ints64: number[] = [];
  for (const f of fields(buf)) {
    if (f.field === 1) pushInts(f, dims);
    else if (f.field === 2) dataType = int(f);
    else if (f.field === 4) pushFloats(f, floats);
    else if (f.field === 5) pushInts(f, ints32);
    else if (f.field === 7) pushInts(f, ints64);
    else if (f.field === 8) name = str(f);
    else if (f.field === 9) raw = f.bytes.slice();
    else if (f.field === 13 || (f.field === 14 && int(f) === 1)) {
      throw new OnnxExportError(
        `tensor ${name || '?'} keeps its data in an external file, which is not supported`,
      );
    }
  }
  const count = dims.reduce((a, b) => a * b, 1);
  const size = ELEMENT_BYTES[dataType];
  if (raw) return { name, dataType, dims, rawData: raw };
  if (!size) throw new OnnxExportError(`tensor ${name} has unsupported data type ${dataType}`);
  const rawData = new Uint8Array(count * size);
  const view = new DataView(rawData.buffer);
  for (let i = 0; i < count; i++) {
    if (dataType === DataType.FLOAT) view.setFloat32(i * 4, floats[i] ?? 0, true);
    else if (dataType === DataType.INT64) view.setBigInt64(i * 8, BigInt(ints64[i] ?? 0), true);
    else if (dataType === DataType.INT32) view.setInt32(i * 4, ints32[i] ?? 0, true);
    else if (size === 1) view.setUint8(i, (ints32[i] ?? 0) & 0xff);
    else if (size === 2) view.setUint16(i, (ints32[i] ?? 0) & 0xffff, true);
    else throw new OnnxExportError(`tensor ${name}: typed data of type ${dataType} is not supported`);
  }
  return { name, dataType, dims, rawData };
}

function decodeAttribute(buf: Uint8Array, node: string): Attribute {
  // AttributeProto: name=1, f=2, i=3, s=4, t=5, g=6, floats=7, ints=8, strings=9, type=20
  let name = '';
  let type = 0;
  let f = 0;
  let i = 0;
  let s = '';
  let t: TensorInit | null = null;
  const floats: number[] = [];
  const ints: number[] = [];
  for (const x of fields(buf)) {
    if (x.field === 1) name = str(x);
    else if (x.field === 2) f = x.fixed.getFloat32(0, true);
    else if (x.field === 3) i = int(x);
    else if (x.field === 4) s = str(x);
    else if (x.field === 5) t = decodeTensor(x.bytes);
    else if (x.field === 7) pushFloats(x, floats);
    else if (x.field === 8) pushInts(x, ints);
    else if (x.field === 20) type = int(x);
  }
  switch (type) {
    case 1:
      return { name, type: 'float', value: f };
    case 2:
      return { name, type: 'int', value: i };
    case 3:
      return { name, type: 'string', value: s };
    case 4:
      if (t) return { name, type: 'tensor', value: t };
      break;
    case 6:
      return { name, type: 'floats', value: floats };
    case 7:
      return { name, type: 'ints', value: ints };
  }
  throw new OnnxExportError(`node ${node}: attribute ${name} has unsupported type ${type}`);
}

function decodeNode(buf: Uint8Array): OnnxNode {
  const node: OnnxNode = { name: '', opType: '', inputs: [], outputs: [], attributes: [] };
  const attrs: Uint8Array[] = [];
  for (const f of fields(buf)) {
    if (f.field === 1) node.inputs.push(str(f));
    else if (f.field === 2) node.outputs.push(str(f));
    else if (f.field === 3) node.name = str(f);
    else if (f.field === 4) node.opType = str(f);
    else if (f.field === 5) attrs.push(f.bytes);
    else if (f.field === 7) node.domain = str(f);
  }
  node.attributes = attrs.map((a) => decodeAttribute(a, node.name || node.opType));
  return node;
}

function decodeValueInfo(buf: Uint8Array): ValueInfo {
  const info: ValueInfo = { name: '', elemType: 0 };
  for (const f of fields(buf)) {
    if (f.field === 1) info.name = str(f);
    else if (f.field === 2) {
      for (const tt of fields(f.bytes)) {
        if (tt.field !== 1) continue; // only tensor_type
        for (const x of fields(tt.bytes)) {
          if (x.field === 1) info.elemType = int(x);
          else if (x.field === 2) {
            const shape: Dim[] = [];
            for (const d of fields(x.bytes)) {
              if (d.field !== 1) continue;
              let dim: Dim = '?';
              for (const v of fields(d.bytes)) dim = v.field === 1 ? int(v) : v.field === 2 ? str(v) : dim;
              shape.push(dim);
            }
            info.shape = shape;
          }
        }
      }
    }
  }
  return info;
}

export function decodeModel(bytes: Uint8Array): OnnxModel {
  const model: OnnxModel = {
    irVersion: 0,
    opsetVersion: 0,
    producerName: '',
    producerVersion: '',
    graphName: '',
    nodes: [],
    initializers: [],
    inputs: [],
    outputs: [],
    metadata: {},
    opsetImports: [],
    valueInfo: [],
  };
  let graph: Uint8Array | null = null;
  for (const f of fields(bytes)) {
    if (f.field === 1) model.irVersion = int(f);
    else if (f.field === 2) model.producerName = str(f);
    else if (f.field === 3) model.producerVersion = str(f);
    else if (f.field === 7) graph = f.bytes;
    else if (f.field === 8) {
      const o: OpsetId = { domain: '', version: 0 };
      for (const x of fields(f.bytes)) {
        if (x.field === 1) o.domain = str(x);
        else if (x.field === 2) o.version = int(x);
      }
      model.opsetImports?.push(o);
    } else if (f.field === 14) {
      let key = '';
      let value = '';
      for (const x of fields(f.bytes)) {
        if (x.field === 1) key = str(x);
        else if (x.field === 2) value = str(x);
      }
      model.metadata[key] = value;
    }
  }
  if (!graph) throw new OnnxExportError('not an ONNX model: no graph');
  model.opsetVersion =
    model.opsetImports?.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 0;
  for (const f of fields(graph)) readGraphField(model, f);
  return model;
}

function readGraphField(model: OnnxModel, f: Field): void {
  // GraphProto: node=1, name=2, initializer=5, input=11, output=12, value_info=13, sparse_initializer=15
  if (f.field === 1) model.nodes.push(decodeNode(f.bytes));
  else if (f.field === 2) model.graphName = str(f);
  else if (f.field === 5) model.initializers.push(decodeTensor(f.bytes));
  else if (f.field === 11) model.inputs.push(decodeValueInfo(f.bytes));
  else if (f.field === 12) model.outputs.push(decodeValueInfo(f.bytes));
  else if (f.field === 13) model.valueInfo?.push(decodeValueInfo(f.bytes));
  else if (f.field === 15) throw new OnnxExportError('sparse initializers are not supported');
}
