/**
 * WebAssembly SIMD passes for the fused batch-norm and ReLU6 kernels (layer-kernels.ts). The
 * activations are rows of C channels (NHWC flattened), C a multiple of 4; every pass walks the rows
 * once with "row" pointers that advance through the data and "channel" pointers (per-channel
 * vectors or accumulators) that restart at each row. All addresses in bytes. Pure, no tfjs.
 *
 *   colSum(x, acc, rows, cv):                 acc += x                      (per channel)
 *   colSqDev(x, mean, acc, rows, cv):         acc += (x - mean)^2
 *   colGradSums(dy, x, mean, s1, s2, rows, cv): s1 += dy; s2 += dy * (x - mean)
 *   bnApply(x, y, mean, mul, beta, rows, cv): y = (x - mean) * mul + beta
 *   bnGrad(dy, x, dx, mean, a, b, s, rows, cv): dx = a*dy + b*(x - mean) + s
 *   relu6(x, y, n, hi):                       y = min(max(x, 0), hi)        (n vectors)
 *   relu6Grad(dy, x, dx, n, hi):              dx = (0 <= max(x,0) <= hi ? dy : 0) * step(x)
 *   adam(x, m, v, g, nx, nm, nv, k, n, 1):    one Adam step (adam-patch.ts), constants at k
 *   bnApplyRelu6(x, y, a, mean, mul, beta, rows, cv, hi): bnApply, and a = relu6(y) from the same
 *     register (the relu6 pass's ops), saving the relu6 pass's read of y
 *
 * relu6Grad reproduces the stock Relu/ClipByValue gradient product bit for bit, including the
 * sign of zero and NaN: step(x) is 1 for x > 0, NaN for NaN, else 0.
 */
import {
  addConst,
  type Bytes,
  buildModule,
  type FuncDef,
  I32,
  listRunner,
  type MemoryImport,
  op,
  V128,
} from './wasm-asm.ts';

const F32 = 0x7d;

// SIMD opcodes beyond wasm-asm.ts's set (fixed-width SIMD, prefix 0xFD).
const simd = (code: number): Bytes => {
  const out: Bytes = [0xfd];
  let n = code;
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
};
const v = {
  and: () => simd(78),
  or: () => simd(80),
  bitselect: () => simd(82),
  ne: () => simd(66),
  gt: () => simd(68),
  le: () => simd(69),
  ge: () => simd(70),
  sub: () => simd(229),
  div: () => simd(231),
  sqrt: () => simd(227),
  min: () => simd(232),
  max: () => simd(233),
  // v128.const with four f32 lanes.
  const4: (f: number): Bytes => {
    const b = Buffer.alloc(16);
    for (let i = 0; i < 4; i++) b.writeFloatLE(f, i * 4);
    return [...simd(12), ...b];
  },
};
const ld = (local: number): Bytes => [...op.get(local), ...op.v128Load()];

interface LoopDef {
  name: string;
  /** Pointer params that advance 16 bytes per vector through the data. */
  rowStreams: string[];
  /** Pointer params to C-float vectors that restart at every row. */
  chanStreams: string[];
  /** Extra scalar params after rows and cv (f32). */
  scalars?: string[];
  tmps: number;
  /** Body of one vector step; `p(name)` gives the local holding a stream's current pointer. */
  body(p: (name: string) => number, tmp: (i: number) => number): Bytes;
  pre?(p: (name: string) => number, tmp: (i: number) => number): Bytes;
}

function rowLoop(d: LoopDef): FuncDef {
  const params = [...d.rowStreams, ...d.chanStreams, 'rows', 'cv', ...(d.scalars ?? [])];
  const idx = new Map(params.map((n, i) => [n, i]));
  const nP = params.length;
  const cursor = new Map(d.chanStreams.map((n, i) => [n, nP + i]));
  const vLocal = nP + d.chanStreams.length;
  const firstTmp = vLocal + 1;
  const p = (n: string) => cursor.get(n) ?? (idx.get(n) as number);
  const tmp = (i: number) => firstTmp + i;
  const rows = idx.get('rows') as number;
  const body: Bytes = [...(d.pre?.(p, tmp) ?? [])];
  body.push(...op.block(), ...op.loop());
  body.push(...op.get(rows), ...op.i32(0), ...op.i32LeS(), ...op.brIf(1));
  for (const c of d.chanStreams) body.push(...op.get(idx.get(c) as number), ...op.set(p(c)));
  body.push(...op.get(idx.get('cv') as number), ...op.set(vLocal));
  body.push(...op.block(), ...op.loop());
  body.push(...op.get(vLocal), ...op.i32(0), ...op.i32LeS(), ...op.brIf(1));
  body.push(...d.body(p, tmp));
  for (const s of [...d.rowStreams, ...d.chanStreams]) body.push(...addConst(p(s), 16));
  body.push(...addConst(vLocal, -1), ...op.br(0), ...op.end(), ...op.end());
  body.push(...addConst(rows, -1), ...op.br(0), ...op.end(), ...op.end());
  return {
    name: d.name,
    params: params.map((n) => ((d.scalars ?? []).includes(n) ? F32 : I32)),
    locals: [...new Array(d.chanStreams.length + 1).fill(I32), ...new Array(d.tmps).fill(V128)],
    body,
  };
}

/** acc[v] = acc[v] op value, value computed by `value`. */
const accumulate = (acc: number, value: Bytes): Bytes => [
  ...op.get(acc),
  ...ld(acc),
  ...value,
  ...op.f32x4Add(),
  ...op.v128Store(),
];
const dev = (x: number, mean: number): Bytes => [...ld(x), ...ld(mean), ...v.sub()];
/** Batch norm's output (x - mean) * mul + beta, with streams x, mean, mul and beta. */
const bnValue = (p: (name: string) => number): Bytes => [
  ...dev(p('x'), p('mean')),
  ...ld(p('mul')),
  ...op.f32x4Mul(),
  ...ld(p('beta')),
  ...op.f32x4Add(),
];

const defs: LoopDef[] = [
  {
    name: 'colSum',
    rowStreams: ['x'],
    chanStreams: ['acc'],
    tmps: 0,
    body: (p) => accumulate(p('acc'), ld(p('x'))),
  },
  {
    name: 'colSqDev',
    rowStreams: ['x'],
    chanStreams: ['mean', 'acc'],
    tmps: 1,
    body: (p, t) => [
      ...dev(p('x'), p('mean')),
      ...op.tee(t(0)),
      ...op.get(t(0)),
      ...op.f32x4Mul(),
      ...op.set(t(0)),
      ...accumulate(p('acc'), op.get(t(0))),
    ],
  },
  {
    name: 'colGradSums',
    rowStreams: ['dy', 'x'],
    chanStreams: ['mean', 's1', 's2'],
    tmps: 0,
    body: (p) => [
      ...accumulate(p('s1'), ld(p('dy'))),
      ...accumulate(p('s2'), [...ld(p('dy')), ...dev(p('x'), p('mean')), ...op.f32x4Mul()]),
    ],
  },
  {
    name: 'bnApply',
    rowStreams: ['x', 'y'],
    chanStreams: ['mean', 'mul', 'beta'],
    tmps: 0,
    body: (p) => [...op.get(p('y')), ...bnValue(p), ...op.v128Store()],
  },
  {
    name: 'bnGrad',
    rowStreams: ['dy', 'x', 'dx'],
    chanStreams: ['mean', 'a', 'b', 's'],
    tmps: 0,
    body: (p) => [
      ...op.get(p('dx')),
      ...ld(p('a')),
      ...ld(p('dy')),
      ...op.f32x4Mul(),
      ...ld(p('b')),
      ...dev(p('x'), p('mean')),
      ...op.f32x4Mul(),
      ...op.f32x4Add(),
      ...ld(p('s')),
      ...op.f32x4Add(),
      ...op.v128Store(),
    ],
  },
  {
    name: 'bnApplyRelu6',
    rowStreams: ['x', 'y', 'a'],
    chanStreams: ['mean', 'mul', 'beta'],
    scalars: ['hi'],
    tmps: 2,
    pre: (p, t) => [...op.get(p('hi')), ...op.f32x4Splat(), ...op.set(t(0))],
    body: (p, t) => [
      ...op.get(p('y')),
      ...bnValue(p),
      ...op.tee(t(1)),
      ...op.v128Store(),
      ...op.get(p('a')),
      ...v.const4(0),
      ...op.get(t(1)),
      ...v.max(),
      ...op.get(t(0)),
      ...v.min(),
      ...op.v128Store(),
    ],
  },
  {
    name: 'relu6',
    rowStreams: ['x', 'y'],
    chanStreams: [],
    scalars: ['hi'],
    tmps: 1,
    pre: (p, t) => [...op.get(p('hi')), ...op.f32x4Splat(), ...op.set(t(0))],
    body: (p, t) => [
      ...op.get(p('y')),
      ...v.const4(0),
      ...ld(p('x')),
      ...v.max(),
      ...op.get(t(0)),
      ...v.min(),
      ...op.v128Store(),
    ],
  },
  {
    name: 'relu6Grad',
    rowStreams: ['dy', 'x', 'dx'],
    chanStreams: [],
    scalars: ['hi'],
    tmps: 3,
    pre: (p, t) => [...op.get(p('hi')), ...op.f32x4Splat(), ...op.set(t(0))],
    body: (p, t) => [
      // t1 = max(0, x); g = dy where 0 <= t1 <= hi, else +0
      ...v.const4(0),
      ...ld(p('x')),
      ...v.max(),
      ...op.set(t(1)),
      ...ld(p('dy')),
      ...op.get(t(1)),
      ...v.const4(0),
      ...v.ge(),
      ...op.get(t(1)),
      ...op.get(t(0)),
      ...v.le(),
      ...v.and(),
      ...v.and(),
      ...op.set(t(2)),
      // step = (x > 0 ? 1 : 0) | (x != x ? NaN : 0)
      ...op.get(p('dx')),
      ...op.get(t(2)),
      ...v.const4(1),
      ...ld(p('x')),
      ...v.const4(0),
      ...v.gt(),
      ...v.and(),
      ...v.const4(Number.NaN),
      ...ld(p('x')),
      ...ld(p('x')),
      ...v.ne(),
      ...v.and(),
      ...v.or(),
      ...op.f32x4Mul(),
      ...op.v128Store(),
    ],
  },
  {
    // nm = m*b1 + g*c1; nv = v*b2 + g*g*c2; nx = (nm/bc1) / (sqrt(nv/bc2) + eps) * step + x, each op
    // in float32 as the JS loop of adam-patch.ts (and stock Adam's op chain). k holds the eight
    // constants as 4-lane vectors (b1, b2, c1, c2, bc1, bc2, eps, step); it advances unused.
    name: 'adam',
    rowStreams: ['x', 'm', 'v', 'g', 'nx', 'nm', 'nv', 'k'],
    chanStreams: [],
    tmps: 11,
    pre: (p, t) =>
      Array.from({ length: 8 }, (_, i) => [
        ...op.get(p('k')),
        ...op.v128Load(16 * i),
        ...op.set(t(i)),
      ]).flat(),
    body: (p, t) => [
      ...ld(p('g')),
      ...op.set(t(8)),
      // out = prev*decay + term*coef, kept in a temp for the step below.
      ...[
        { out: 'nm', prev: 'm', decay: 0, term: op.get(t(8)), coef: 2, keep: 9 },
        {
          out: 'nv',
          prev: 'v',
          decay: 1,
          term: [...op.get(t(8)), ...op.get(t(8)), ...op.f32x4Mul()],
          coef: 3,
          keep: 10,
        },
      ].flatMap((e) => [
        ...op.get(p(e.out)),
        ...ld(p(e.prev)),
        ...op.get(t(e.decay)),
        ...op.f32x4Mul(),
        ...e.term,
        ...op.get(t(e.coef)),
        ...op.f32x4Mul(),
        ...op.f32x4Add(),
        ...op.tee(t(e.keep)),
        ...op.v128Store(),
      ]),
      ...op.get(p('nx')),
      ...op.get(t(9)),
      ...op.get(t(4)),
      ...v.div(),
      ...op.get(t(10)),
      ...op.get(t(5)),
      ...v.div(),
      ...v.sqrt(),
      ...op.get(t(6)),
      ...op.f32x4Add(),
      ...v.div(),
      ...op.get(t(7)),
      ...op.f32x4Mul(),
      ...ld(p('x')),
      ...op.f32x4Add(),
      ...op.v128Store(),
    ],
  },
];

/** Passes whose calls blockSums (layer-wasm.ts) writes as records, run by a `<name>List` export. */
const LISTED = ['colSum', 'colSqDev', 'colGradSums'];

export function channelModuleBytes(mem: MemoryImport): Uint8Array {
  const funcs = defs.map(rowLoop);
  const lists = LISTED.map((n) => {
    const i = defs.findIndex((d) => d.name === n);
    return listRunner(`${n}List`, i, funcs[i].params.length);
  });
  return buildModule([...funcs, ...lists], mem);
}
