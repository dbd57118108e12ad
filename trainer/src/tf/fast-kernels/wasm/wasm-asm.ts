/**
 * A minimal WebAssembly binary writer: just the sections, value types and instructions the SIMD
 * kernels need (WebAssembly core spec 2.0, §5 Binary Format; SIMD opcodes from the fixed-width
 * SIMD proposal, prefix 0xFD). Writing the bytes here keeps the kernels free of a build step and
 * of a toolchain the offline machines cannot install. Pure, no tfjs.
 */

export type Bytes = number[];

/** Unsigned LEB128 (§5.2.2). */
export function uleb(v: number): Bytes {
  const out: Bytes = [];
  let n = v >>> 0;
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 for i32 constants (§5.2.2). */
export function sleb(v: number): Bytes {
  const out: Bytes = [];
  let n = v | 0;
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

export const I32 = 0x7f;
export const V128 = 0x7b;

/** Instructions (§5.4). Memory offsets are byte offsets added to the address operand. */
export const op = {
  block: (): Bytes => [0x02, 0x40],
  loop: (): Bytes => [0x03, 0x40],
  if: (): Bytes => [0x04, 0x40],
  end: (): Bytes => [0x0b],
  br: (depth: number): Bytes => [0x0c, ...uleb(depth)],
  brIf: (depth: number): Bytes => [0x0d, ...uleb(depth)],
  call: (fn: number): Bytes => [0x10, ...uleb(fn)],
  get: (local: number): Bytes => [0x20, ...uleb(local)],
  set: (local: number): Bytes => [0x21, ...uleb(local)],
  tee: (local: number): Bytes => [0x22, ...uleb(local)],
  i32: (v: number): Bytes => [0x41, ...sleb(v)],
  f32Load: (offset = 0): Bytes => [0x2a, 2, ...uleb(offset)],
  f32Store: (offset = 0): Bytes => [0x38, 2, ...uleb(offset)],
  i32Add: (): Bytes => [0x6a],
  i32Sub: (): Bytes => [0x6b],
  i32Mul: (): Bytes => [0x6c],
  i32LtS: (): Bytes => [0x48],
  i32GtS: (): Bytes => [0x4a],
  i32LeS: (): Bytes => [0x4c],
  i32GeS: (): Bytes => [0x4e],
  f32Add: (): Bytes => [0x92],
  f32Mul: (): Bytes => [0x94],
  v128Load: (offset = 0): Bytes => [0xfd, 0x00, 4, ...uleb(offset)],
  v128Store: (offset = 0): Bytes => [0xfd, 0x0b, 4, ...uleb(offset)],
  f32x4Splat: (): Bytes => [0xfd, 0x13],
  f32x4Add: (): Bytes => [0xfd, ...uleb(228)],
  f32x4Mul: (): Bytes => [0xfd, ...uleb(230)],
};

/** local += delta (i32), with delta a local index. */
export function addTo(local: number, deltaLocal: number): Bytes {
  return [...op.get(local), ...op.get(deltaLocal), ...op.i32Add(), ...op.set(local)];
}

/** local += constant (i32). */
export function addConst(local: number, c: number): Bytes {
  return [...op.get(local), ...op.i32(c), ...op.i32Add(), ...op.set(local)];
}

export interface FuncDef {
  name?: string;
  params: number[];
  locals: number[];
  body: Bytes;
}

function section(id: number, payload: Bytes): Bytes {
  return [id, ...uleb(payload.length), ...payload];
}

function vec(items: Bytes[]): Bytes {
  return [...uleb(items.length), ...items.flat()];
}

function name(s: string): Bytes {
  const b = [...Buffer.from(s, 'utf8')];
  return [...uleb(b.length), ...b];
}

/** How the imported memory is declared: a plain one, or a shared one (threads) with its maximum. */
export interface MemoryImport {
  minPages: number;
  /** Shared memories must declare a maximum (threads proposal, memory type limits flag 0x03). */
  sharedMaxPages?: number;
}

/** A module importing env.memory and exporting named funcs. */
export function buildModule(funcs: FuncDef[], mem: MemoryImport): Uint8Array {
  const types = section(1, vec(funcs.map((f) => [0x60, ...vec(f.params.map((t) => [t])), 0])));
  const limits =
    mem.sharedMaxPages == null
      ? [0x00, ...uleb(mem.minPages)]
      : [0x03, ...uleb(mem.minPages), ...uleb(mem.sharedMaxPages)];
  const imports = section(2, vec([[...name('env'), ...name('memory'), 0x02, ...limits]]));
  const functions = section(3, vec(funcs.map((_, i) => uleb(i))));
  const exported = funcs.flatMap((f, i) => (f.name ? [[...name(f.name), 0x00, ...uleb(i)]] : []));
  const exports = section(7, vec(exported));
  const bodies = funcs.map((f) => {
    // Locals are declared as runs of one type (§5.5.13).
    const runs: Bytes[] = [];
    for (let i = 0; i < f.locals.length; ) {
      let j = i;
      while (j < f.locals.length && f.locals[j] === f.locals[i]) j++;
      runs.push([...uleb(j - i), f.locals[i]]);
      i = j;
    }
    const body = [...vec(runs), ...f.body, ...op.end()];
    return [...uleb(body.length), ...body];
  });
  const code = section(10, vec(bodies));
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...types,
    ...imports,
    ...functions,
    ...exports,
    ...code,
  ]);
}

/**
 * `name`(list, count): calls function `fn` (nParams i32 parameters) `count` times with the
 * arguments stored one record after another at byte address `list` (4 * nParams bytes a record), so
 * a sequence of calls can be written once into memory and split between threads by record ranges.
 */
export function listRunner(name: string, fn: number, nParams: number): FuncDef {
  const LIST = 0;
  const COUNT = 1;
  const call: Bytes = [];
  for (let i = 0; i < nParams; i++) call.push(...op.get(LIST), 0x28, 2, ...uleb(4 * i)); // i32.load
  call.push(...op.call(fn));
  return {
    name,
    params: [I32, I32],
    locals: [],
    body: [
      ...op.block(),
      ...op.loop(),
      ...op.get(COUNT),
      ...op.i32(0),
      ...op.i32LeS(),
      ...op.brIf(1),
      ...call,
      ...addConst(LIST, 4 * nParams),
      ...addConst(COUNT, -1),
      ...op.br(0),
      ...op.end(),
      ...op.end(),
    ],
  };
}
