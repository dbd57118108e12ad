// Minimal protobuf (proto2 wire format) decoder: the counterpart of protobuf-writer.ts, so that the
// quantizer can read ONNX files we did not write. Spec: https://protobuf.dev/programming-guides/encoding/

import { OnnxExportError } from './errors.ts';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

export type Field = { field: number; wire: number; varint: bigint; bytes: Uint8Array; fixed: DataView };

const textDecoder = new TextDecoder();
const EMPTY = new Uint8Array(0);

function fail(detail: string): never {
  throw new OnnxExportError(`not a valid ONNX protobuf: ${detail}`);
}

/** Walks the fields of one encoded message, in file order. */
export function* fields(buf: Uint8Array): Generator<Field> {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= buf.length) fail('truncated varint');
      const b = buf[pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return result;
      shift += 7n;
      if (shift > 70n) fail('varint too long');
    }
  };
  while (pos < buf.length) {
    const tag = Number(varint());
    const field = tag >>> 3;
    const wire = tag & 7;
    let value: Field = { field, wire, varint: 0n, bytes: EMPTY, fixed: view };
    if (wire === WIRE_VARINT) value = { ...value, varint: varint() };
    else if (wire === WIRE_LEN) {
      const len = Number(varint());
      if (pos + len > buf.length) fail(`field ${field} runs past the end`);
      value = { ...value, bytes: buf.subarray(pos, pos + len) };
      pos += len;
    } else if (wire === WIRE_FIXED32 || wire === WIRE_FIXED64) {
      const size = wire === WIRE_FIXED32 ? 4 : 8;
      if (pos + size > buf.length) fail(`field ${field} runs past the end`);
      value = { ...value, fixed: new DataView(buf.buffer, buf.byteOffset + pos, size) };
      pos += size;
    } else fail(`unsupported wire type ${wire} for field ${field}`);
    yield value;
  }
}

export function str(f: Field): string {
  return textDecoder.decode(f.bytes);
}

/** int64 as a JS number (two's complement for negatives, e.g. pads or axes of -1). */
export function int(f: Field): number {
  return Number(BigInt.asIntN(64, f.varint));
}

/** A repeated int64 field appears unpacked (one varint) or packed (a length-delimited run). */
export function pushInts(f: Field, out: number[]): void {
  if (f.wire === WIRE_VARINT) {
    out.push(int(f));
    return;
  }
  let pos = 0;
  const b = f.bytes;
  while (pos < b.length) {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = b[pos++];
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) break;
      shift += 7n;
    }
    out.push(Number(BigInt.asIntN(64, result)));
  }
}

/** A repeated float field: unpacked fixed32s or one packed run. */
export function pushFloats(f: Field, out: number[]): void {
  if (f.wire === WIRE_FIXED32) {
    out.push(f.fixed.getFloat32(0, true));
    return;
  }
  const view = new DataView(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength);
  for (let i = 0; i + 4 <= f.bytes.length; i += 4) out.push(view.getFloat32(i, true));
}
