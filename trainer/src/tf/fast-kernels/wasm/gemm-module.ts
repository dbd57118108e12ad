/**
 * The WebAssembly SIMD matrix product behind the fast convolutions:
 *
 *   gemm(a, sai, sak, b, ldb, c, ldc, m, n, k):
 *     C[i][j] += sum_{kk<k} A(i, kk) * B[kk][j]   for i < m, j < n (n a multiple of 4)
 *
 * with A(i, kk) the f32 at a + i*sai + kk*sak (any strides, so A can be a matrix or its transpose)
 * and B, C row-major with row strides ldb, ldc; all addresses and strides in bytes. C is read and
 * written in register tiles of 4 rows x 8 columns (eight f32x4 accumulators), so each k step loads
 * two B vectors and four A scalars for 32 multiply-adds. Pure, no tfjs.
 */
import {
  addConst,
  addTo,
  type Bytes,
  buildModule,
  type FuncDef,
  I32,
  listRunner,
  type MemoryImport,
  op,
  uleb,
  V128,
} from './wasm-asm.ts';

// Tile parameters: a, sai, sak, b, ldb, c, ldc, k.
const P = { a: 0, sai: 1, sak: 2, b: 3, ldb: 4, c: 5, ldc: 6, k: 7 } as const;

/** One R-row x V-vector tile over the whole k range; `overwrite` starts from 0 instead of C. */
function tile(rows: number, vecs: number, overwrite = false): FuncDef {
  // Locals after the 8 params: a row pointers 1..3, c row pointers 1..3, accumulators, B vectors, A splat.
  const aPtr = (r: number) => (r === 0 ? P.a : 8 + r - 1);
  const cPtr = (r: number) => (r === 0 ? P.c : 11 + r - 1);
  const acc = (r: number, v: number) => 14 + r * vecs + v;
  const bv = (v: number) => 14 + rows * vecs + v;
  const av = 14 + rows * vecs + vecs;
  const body: Bytes = [];
  for (let r = 1; r < rows; r++) {
    body.push(...op.get(aPtr(r - 1)), ...op.get(P.sai), ...op.i32Add(), ...op.set(aPtr(r)));
    body.push(...op.get(cPtr(r - 1)), ...op.get(P.ldc), ...op.i32Add(), ...op.set(cPtr(r)));
  }
  // Fresh locals are zero (core spec §4.4.10), so an overwriting tile just skips the loads.
  if (!overwrite)
    for (let r = 0; r < rows; r++)
      for (let v = 0; v < vecs; v++)
        body.push(...op.get(cPtr(r)), ...op.v128Load(16 * v), ...op.set(acc(r, v)));
  body.push(...op.block(), ...op.loop());
  body.push(...op.get(P.k), ...op.i32(0), ...op.i32LeS(), ...op.brIf(1));
  for (let v = 0; v < vecs; v++) body.push(...op.get(P.b), ...op.v128Load(16 * v), ...op.set(bv(v)));
  for (let r = 0; r < rows; r++) {
    body.push(...op.get(aPtr(r)), ...op.f32Load(), ...op.f32x4Splat(), ...op.set(av));
    for (let v = 0; v < vecs; v++) {
      body.push(...op.get(acc(r, v)), ...op.get(av), ...op.get(bv(v)), ...op.f32x4Mul(), ...op.f32x4Add());
      body.push(...op.set(acc(r, v)));
    }
  }
  for (let r = 0; r < rows; r++) body.push(...addTo(aPtr(r), P.sak));
  body.push(...addTo(P.b, P.ldb), ...addConst(P.k, -1), ...op.br(0), ...op.end(), ...op.end());
  for (let r = 0; r < rows; r++)
    for (let v = 0; v < vecs; v++)
      body.push(...op.get(cPtr(r)), ...op.get(acc(r, v)), ...op.v128Store(16 * v));
  return {
    params: new Array(8).fill(I32),
    locals: [...new Array(6).fill(I32), ...new Array(rows * vecs + vecs + 1).fill(V128)],
    body,
  };
}

// gemm parameters and locals.
const G = { a: 0, sai: 1, sak: 2, b: 3, ldb: 4, c: 5, ldc: 6, m: 7, n: 8, k: 9 } as const;
const L = { i: 10, j: 11, aRow: 12, cRow: 13, bCol: 14, cCol: 15, step: 16, cStep: 17 } as const;

/** The row loop for tiles of `rows` rows: wide tiles (fn8) then one 4-column tile (fn4) if needed. */
function rowLoop(rows: number, fn8: number, fn4: number): Bytes {
  const callTile = (fn: number) => [
    ...op.get(L.aRow),
    ...op.get(G.sai),
    ...op.get(G.sak),
    ...op.get(L.bCol),
    ...op.get(G.ldb),
    ...op.get(L.cCol),
    ...op.get(G.ldc),
    ...op.get(G.k),
    ...op.call(fn),
  ];
  return [
    ...op.get(G.sai),
    ...op.i32(rows),
    ...op.i32Mul(),
    ...op.set(L.step),
    ...op.get(G.ldc),
    ...op.i32(rows),
    ...op.i32Mul(),
    ...op.set(L.cStep),
    ...op.block(),
    ...op.loop(),
    // while (i + rows <= m)
    ...op.get(L.i),
    ...op.i32(rows),
    ...op.i32Add(),
    ...op.get(G.m),
    ...op.i32GtS(),
    ...op.brIf(1),
    ...op.i32(0),
    ...op.set(L.j),
    ...op.get(G.b),
    ...op.set(L.bCol),
    ...op.get(L.cRow),
    ...op.set(L.cCol),
    ...op.block(),
    ...op.loop(),
    // while (j + 8 <= n)
    ...op.get(L.j),
    ...op.i32(8),
    ...op.i32Add(),
    ...op.get(G.n),
    ...op.i32GtS(),
    ...op.brIf(1),
    ...callTile(fn8),
    ...addConst(L.bCol, 32),
    ...addConst(L.cCol, 32),
    ...addConst(L.j, 8),
    ...op.br(0),
    ...op.end(),
    ...op.end(),
    // if (j < n): the last 4 columns
    ...op.get(L.j),
    ...op.get(G.n),
    ...op.i32LtS(),
    ...op.if(),
    ...callTile(fn4),
    ...op.end(),
    ...addTo(L.aRow, L.step),
    ...addTo(L.cRow, L.cStep),
    ...addConst(L.i, rows),
    ...op.br(0),
    ...op.end(),
    ...op.end(),
  ];
}

/** gemm over tiles first..first+3 (4x8, 4x4, 1x8, 1x4). */
function gemm(name: string, first: number): FuncDef {
  return {
    name,
    params: new Array(10).fill(I32),
    locals: new Array(8).fill(I32),
    body: [
      ...op.get(G.a),
      ...op.set(L.aRow),
      ...op.get(G.c),
      ...op.set(L.cRow),
      ...rowLoop(4, first, first + 1),
      ...rowLoop(1, first + 2, first + 3),
    ],
  };
}

/**
 * mac(out, outStep, p, pStep, q, qStep, count, vecs): for i < count, out_i[v] += p_i[v] * q_i[v]
 * over `vecs` f32x4 vectors, where x_i = x + i*xStep (bytes). The channel-vectorised inner loop of
 * the depthwise convolution and both its gradients (a step of 0 reuses one vector every time).
 */
function mac(): FuncDef {
  const A = { out: 0, outStep: 1, p: 2, pStep: 3, q: 4, qStep: 5, count: 6, vecs: 7 } as const;
  const L2 = { o: 8, pp: 9, qq: 10, v: 11 } as const;
  return {
    name: 'mac',
    params: new Array(8).fill(I32),
    locals: new Array(4).fill(I32),
    body: [
      ...op.block(),
      ...op.loop(),
      ...op.get(A.count),
      ...op.i32(0),
      ...op.i32LeS(),
      ...op.brIf(1),
      ...op.get(A.out),
      ...op.set(L2.o),
      ...op.get(A.p),
      ...op.set(L2.pp),
      ...op.get(A.q),
      ...op.set(L2.qq),
      ...op.get(A.vecs),
      ...op.set(L2.v),
      ...op.block(),
      ...op.loop(),
      ...op.get(L2.v),
      ...op.i32(0),
      ...op.i32LeS(),
      ...op.brIf(1),
      ...op.get(L2.o),
      ...op.get(L2.o),
      ...op.v128Load(),
      ...op.get(L2.pp),
      ...op.v128Load(),
      ...op.get(L2.qq),
      ...op.v128Load(),
      ...op.f32x4Mul(),
      ...op.f32x4Add(),
      ...op.v128Store(),
      ...addConst(L2.o, 16),
      ...addConst(L2.pp, 16),
      ...addConst(L2.qq, 16),
      ...addConst(L2.v, -1),
      ...op.br(0),
      ...op.end(),
      ...op.end(),
      ...addTo(A.out, A.outStep),
      ...addTo(A.p, A.pStep),
      ...addTo(A.q, A.qStep),
      ...addConst(A.count, -1),
      ...op.br(0),
      ...op.end(),
      ...op.end(),
    ] as Bytes,
  };
}

const MAC_FN = 10;

/**
 * macList(list, count, outBase, pBase, qBase): runs `count` mac calls whose 8 i32 arguments lie one
 * after another at `list` (32 bytes each), adding the three bases to the out, p and q addresses: a
 * depthwise convolution's whole tap-row walk in one call, its list built once per geometry, and a
 * range of it for a worker thread (threads.ts).
 */
function macList(): FuncDef {
  const A = { list: 0, count: 1, outBase: 2, pBase: 3, qBase: 4 } as const;
  const base: Record<number, number> = { 0: A.outBase, 2: A.pBase, 4: A.qBase };
  const call: Bytes = [];
  for (let i = 0; i < 8; i++) {
    call.push(...op.get(A.list), 0x28, 2, ...uleb(4 * i)); // i32.load
    if (base[i] != null) call.push(...op.get(base[i]), ...op.i32Add());
  }
  call.push(...op.call(MAC_FN));
  return {
    name: 'macList',
    params: [I32, I32, I32, I32, I32],
    locals: [],
    body: [
      ...op.block(),
      ...op.loop(),
      ...op.get(A.count),
      ...op.i32(0),
      ...op.i32LeS(),
      ...op.brIf(1),
      ...call,
      ...addConst(A.list, 32),
      ...addConst(A.count, -1),
      ...op.br(0),
      ...op.end(),
      ...op.end(),
    ],
  };
}

/**
 * The module bytes: functions 0-3 are the accumulating 4x8, 4x4, 1x8, 1x4 tiles, 4-7 the
 * overwriting ones; gemm (C +=), gemm0 (C =), mac, macList and gemm0List (gemm0 calls stored as
 * 10-int records) are exported.
 */
export function gemmModuleBytes(mem: MemoryImport): Uint8Array {
  const tiles = [tile(4, 2), tile(4, 1), tile(1, 2), tile(1, 1)];
  const zeroTiles = [tile(4, 2, true), tile(4, 1, true), tile(1, 2, true), tile(1, 1, true)];
  // Indices: tiles 0-7, gemm 8, gemm0 9, mac 10 (MAC_FN), macList 11, gemm0List 12.
  const funcs = [
    ...tiles,
    ...zeroTiles,
    gemm('gemm', 0),
    gemm('gemm0', 4),
    mac(),
    macList(),
    listRunner('gemm0List', 9, 10),
  ];
  return buildModule(funcs, mem);
}
