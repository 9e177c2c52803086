/**
 * The f32 GEMM: C (+)= op(A) · op(B) on strided matrices, BLIS loop order (jc, pc, ic, jr, ir)
 * with B packed into KC×NR panels and A into KC×MR panels (zero padded to whole tiles), and
 * a 4×8 register tile: 8 v128 accumulators + 2 B vectors + 4 A splats = 14 live vectors,
 * which V8 keeps in xmm0–xmm14 without spilling. One k step per loop iteration (unrolling K
 * lets TurboFan hoist the loads and halves the speed). See shared/notes/wasm-simd-gemm.md.
 *
 * A thread computes the block of C rows [m0, m1) × columns [n0, n1) with its own packing
 * scratch; every element's sum runs over k in the same order whatever the block, so any
 * split of C over threads gives bitwise identical results.
 */
import {
  block, brIf, f32, f32x4, forRange, func, get, i32, i32x4, if_, loop, memory, set, v128,
  type Code, type FuncDef, type Local,
} from './emitter';
import { layout } from './layout';

export const MR = 4;
export const NR = 8;
export const KC = 256;
export const MC = 64;
export const NC = 512;

/** Packing scratch one thread needs, in bytes (A block, B panel, the edge tile). */
export const PACK_A_BYTES = MC * KC * 4;
export const PACK_B_BYTES = NC * KC * 4;
export const TILE_BYTES = MR * NR * 4;

/**
 * gemm(params): for b < batch, C[b] rows [m0, m1), cols [n0, n1) (+)= A[b] · B[b], with
 * `A[b](i, p) = A + b*aBatch + i*rsA + p*csA` (elements), likewise `B(p, j)` and `C(i, j) = i*ldc + j`.
 * Pointers are byte addresses; strides and sizes count f32 elements.
 */
export const gemmParams = layout([
  'A', 'rsA', 'csA', 'aBatch', 'B', 'rsB', 'csB', 'bBatch', 'C', 'ldc', 'cBatch',
  'batch', 'm0', 'm1', 'n0', 'n1', 'k', 'accumulate', 'packA', 'packB', 'tile',
] as const);

const c = i32.const;
const add = i32.add, mul = i32.mul;
const inc = (v: Local, by: Code): Code => set(v, add(get(v), by));

/**
 * dst ← the [kc × n] block at src as T-wide panels along n, zero padded to whole panels;
 * element (p, t) sits at src + p·ks + t·ts (byte strides). B packs into NR-wide panels along
 * its columns, A into MR-tall panels along its rows.
 */
function packPanels(name: string, T: number): FuncDef {
  return func(name, { src: 'i32', ts: 'i32', ks: 'i32', n: 'i32', kc: 'i32', dst: 'i32' },
    { t0: 'i32', w: 'i32', base: 'i32', p: 'i32', t: 'i32', s: 'i32', ...transposeLocals }, (v) => [
      forRange(v.t0, c(0), get(v.n), c(T),
        set(v.w, i32.min(c(T), i32.sub(get(v.n), get(v.t0)))),
        set(v.base, add(get(v.src), mul(get(v.t0), get(v.ts)))),
        if_(i32.and(i32.eq(get(v.w), c(T)), i32.eq(get(v.ts), c(4))), [
          // a whole panel whose T elements of one k are contiguous: T/4 vectors per k
          forRange(v.p, c(0), get(v.kc), c(1),
            set(v.s, add(get(v.base), mul(get(v.p), get(v.ks)))),
            ...Array.from({ length: T / 4 }, (_, q) => v128.store(get(v.dst), v128.load(get(v.s), 16 * q), 16 * q)),
            inc(v.dst, c(T * 4))),
        ], [if_(i32.and(i32.eq(get(v.w), c(T)), i32.eq(get(v.ks), c(4))), [
          // a whole panel whose k run is contiguous (a row-major A, a transposed B): 4×4
          // blocks transposed in registers, where lane by lane costs a load and a store each
          forRange(v.p, c(0), i32.and(get(v.kc), c(~3)), c(4),
            ...Array.from({ length: T / 4 }, (_, g) => transpose4x4(v,
              (r) => v128.load(add(get(v.base), add(mul(get(v.ts), c(4 * g + r)), mul(get(v.p), c(4))))),
              (q, value) => v128.store(get(v.dst), value, q * T * 4 + g * 16))),
            inc(v.dst, c(4 * T * 4))),
          forRange(v.p, i32.and(get(v.kc), c(~3)), get(v.kc), c(1),
            set(v.s, add(get(v.base), mul(get(v.p), c(4)))),
            forRange(v.t, c(0), c(T), c(1),
              f32.store(add(get(v.dst), mul(get(v.t), c(4))), f32.load(add(get(v.s), mul(get(v.t), get(v.ts)))))),
            inc(v.dst, c(T * 4))),
        ], [
          forRange(v.p, c(0), get(v.kc), c(1),
            set(v.s, add(get(v.base), mul(get(v.p), get(v.ks)))),
            forRange(v.t, c(0), c(T), c(1),
              f32.store(add(get(v.dst), mul(get(v.t), c(4))),
                if_f32(i32.lt(get(v.t), get(v.w)), f32.load(add(get(v.s), mul(get(v.t), get(v.ts)))), f32.const(0)))),
            inc(v.dst, c(T * 4))),
        ])])),
    ], { exported: false });
}

const transposeLocals = { r0: 'v128', r1: 'v128', r2: 'v128', r3: 'v128', t0v: 'v128', t1v: 'v128', t2v: 'v128', t3v: 'v128' } as const;

/** Rows r0..r3 (row r from `load(r)`) transposed: `store(q, column q)` for q = 0..3. */
function transpose4x4(v: Record<keyof typeof transposeLocals, Local>, load: (r: number) => Code, store: (q: number, value: Code) => Code): Code[] {
  const rows = [v.r0, v.r1, v.r2, v.r3];
  return [
    ...rows.map((r, i) => set(r, load(i))),
    set(v.t0v, i32x4.shuffle(get(v.r0), get(v.r1), [0, 4, 1, 5])),
    set(v.t1v, i32x4.shuffle(get(v.r0), get(v.r1), [2, 6, 3, 7])),
    set(v.t2v, i32x4.shuffle(get(v.r2), get(v.r3), [0, 4, 1, 5])),
    set(v.t3v, i32x4.shuffle(get(v.r2), get(v.r3), [2, 6, 3, 7])),
    store(0, i32x4.shuffle(get(v.t0v), get(v.t2v), [0, 1, 4, 5])),
    store(1, i32x4.shuffle(get(v.t0v), get(v.t2v), [2, 3, 6, 7])),
    store(2, i32x4.shuffle(get(v.t1v), get(v.t3v), [0, 1, 4, 5])),
    store(3, i32x4.shuffle(get(v.t1v), get(v.t3v), [2, 3, 6, 7])),
  ];
}

/** A typed `if` expression producing an f32 (only the taken branch is evaluated). */
function if_f32(cond: Code, then: Code, otherwise: Code): Code {
  return [cond, 0x04, 0x7d, then, 0x05, otherwise, 0x0b];
}

/**
 * C[mc × nc] at cPtr (byte row stride ldc) += packed A block · packed B panel, one MR×NR
 * tile at a time. Edge tiles go through `tile` and add only their valid part.
 */
function macroKernel(relaxed: boolean): FuncDef {
  const accNames = Array.from({ length: MR * 2 }, (_, i) => `acc${i}`);
  const accLocals = Object.fromEntries(accNames.map((n) => [n, 'v128' as const]));
  return func('gemmMacro', { pA: 'i32', pB: 'i32', C: 'i32', ldc: 'i32', mc: 'i32', nc: 'i32', kc: 'i32', tile: 'i32' },
    { j: 'i32', i: 'i32', nr: 'i32', mr: 'i32', ap: 'i32', bp: 'i32', end: 'i32', cp: 'i32', ii: 'i32', jj: 'i32',
      b0: 'v128', b1: 'v128', a: 'v128', ...accLocals }, (v) => {
      const acc = (r: number, h: number) => (v as Record<string, Local>)[accNames[r * 2 + h]];
      const madd = (a: Code, b: Code, cc: Code) => (relaxed ? f32x4.relaxedMadd(a, b, cc) : f32x4.add(f32x4.mul(a, b), cc));
      const kStep: Code[] = [
        set(v.b0, v128.load(get(v.bp))),
        set(v.b1, v128.load(get(v.bp), 16)),
      ];
      for (let r = 0; r < MR; r++) {
        kStep.push(
          set(v.a, v128.load32Splat(get(v.ap), r * 4)),
          set(acc(r, 0), madd(get(v.a), get(v.b0), get(acc(r, 0)))),
          set(acc(r, 1), madd(get(v.a), get(v.b1), get(acc(r, 1)))),
        );
      }
      const rowPtr = (r: number) => add(get(v.cp), mul(get(v.ldc), c(r)));
      const fullStore: Code[] = [];
      const tileStore: Code[] = [];
      for (let r = 0; r < MR; r++) {
        for (let h = 0; h < 2; h++) {
          fullStore.push(v128.store(rowPtr(r), f32x4.add(v128.load(rowPtr(r), h * 16), get(acc(r, h))), h * 16));
          tileStore.push(v128.store(get(v.tile), get(acc(r, h)), (r * NR + h * 4) * 4));
        }
      }
      return [
        forRange(v.j, c(0), get(v.nc), c(NR),
          set(v.nr, i32.min(c(NR), i32.sub(get(v.nc), get(v.j)))),
          forRange(v.i, c(0), get(v.mc), c(MR),
            set(v.mr, i32.min(c(MR), i32.sub(get(v.mc), get(v.i)))),
            set(v.ap, add(get(v.pA), mul(mul(get(v.i), get(v.kc)), c(4)))),
            set(v.bp, add(get(v.pB), mul(mul(get(v.j), get(v.kc)), c(4)))),
            set(v.end, add(get(v.ap), mul(get(v.kc), c(MR * 4)))),
            ...accNames.map((n) => set((v as Record<string, Local>)[n], v128.zero())),
            loop(...kStep, inc(v.ap, c(MR * 4)), inc(v.bp, c(NR * 4)), brIf(0, i32.lt(get(v.ap), get(v.end)))),
            set(v.cp, add(get(v.C), add(mul(get(v.i), get(v.ldc)), mul(get(v.j), c(4))))),
            if_(i32.and(i32.eq(get(v.mr), c(MR)), i32.eq(get(v.nr), c(NR))), fullStore, [
              ...tileStore,
              forRange(v.ii, c(0), get(v.mr), c(1),
                forRange(v.jj, c(0), get(v.nr), c(1), tileAdd(v))),
            ]))),
      ];
    }, { exported: false });
}

/** C(ii, jj) += tile(ii, jj) for one element of an edge tile. */
function tileAdd(v: Record<string, Local>): Code {
  const cAddr = add(add(get(v.cp), mul(get(v.ii), get(v.ldc))), mul(get(v.jj), c(4)));
  const tAddr = add(get(v.tile), mul(add(mul(get(v.ii), c(NR)), get(v.jj)), c(4)));
  return f32.store(cAddr, f32.add(f32.load(cAddr), f32.load(tAddr)));
}
/** The locals gemmBlocks loops with. */
export const blockLocals = { i: 'i32', jc: 'i32', nc: 'i32', pc: 'i32', kc: 'i32', ic: 'i32', mc: 'i32' } as const;

/** Where gemmBlocks reads and writes: byte strides, C rows [m0, m1) × columns [n0, n1), depth k. */
export interface Blocks { A: Code; rsA: Code; csA: Code; C: Code; ldc: Code; m0: Code; m1: Code; n0: Code; n1: Code; k: Code; accumulate: Code; packA: Code; packB: Code; tile: Code }

/**
 * The GEMM's blocking: NC columns, KC deep, MC rows; A packed by gemmPackA, B by
 * `packB(jc, nc, pc, kc)` (columns jc.. of depth pc..), each block multiplied by gemmMacro;
 * C zeroed first unless accumulating. gemmCore and conv's gemmIm2col both run it, so a
 * product sums in the same order wherever its B comes from.
 */
export function gemmBlocks(v: Record<keyof typeof blockLocals, Local>, g: Blocks, packB: (jc: Code, nc: Code, pc: Code, kc: Code) => Code): Code {
  return block(
    brIf(0, i32.or(i32.ge(g.m0, g.m1), i32.ge(g.n0, g.n1))),
    if_(i32.eqz(g.accumulate), [
      forRange(v.i, g.m0, g.m1, c(1),
        memory.fill(add(g.C, add(mul(get(v.i), g.ldc), mul(g.n0, c(4)))), c(0), mul(i32.sub(g.n1, g.n0), c(4)))),
    ]),
    forRange(v.jc, g.n0, g.n1, c(NC),
      set(v.nc, i32.min(c(NC), i32.sub(g.n1, get(v.jc)))),
      forRange(v.pc, c(0), g.k, c(KC),
        set(v.kc, i32.min(c(KC), i32.sub(g.k, get(v.pc)))),
        packB(get(v.jc), get(v.nc), get(v.pc), get(v.kc)),
        forRange(v.ic, g.m0, g.m1, c(MC),
          set(v.mc, i32.min(c(MC), i32.sub(g.m1, get(v.ic)))),
          [add(g.A, add(mul(get(v.ic), g.rsA), mul(get(v.pc), g.csA))), g.rsA, g.csA, get(v.mc), get(v.kc), g.packA, { call: 'gemmPackA' }],
          [g.packA, g.packB, add(g.C, add(mul(get(v.ic), g.ldc), mul(get(v.jc), c(4)))), g.ldc, get(v.mc), get(v.nc), get(v.kc), g.tile, { call: 'gemmMacro' }]))),
  );
}

/** The strided GEMM on one block of C, callable from other kernels (conv). */
function gemmCore(): FuncDef {
  return func('gemmCore', {
    A: 'i32', rsA: 'i32', csA: 'i32', B: 'i32', rsB: 'i32', csB: 'i32', C: 'i32', ldc: 'i32',
    m0: 'i32', m1: 'i32', n0: 'i32', n1: 'i32', k: 'i32', accumulate: 'i32', packA: 'i32', packB: 'i32', tile: 'i32',
  }, blockLocals, (v) => [
    // strides to bytes
    set(v.rsA, mul(get(v.rsA), c(4))), set(v.csA, mul(get(v.csA), c(4))),
    set(v.rsB, mul(get(v.rsB), c(4))), set(v.csB, mul(get(v.csB), c(4))),
    set(v.ldc, mul(get(v.ldc), c(4))),
    gemmBlocks(v, {
      A: get(v.A), rsA: get(v.rsA), csA: get(v.csA), C: get(v.C), ldc: get(v.ldc),
      m0: get(v.m0), m1: get(v.m1), n0: get(v.n0), n1: get(v.n1), k: get(v.k), accumulate: get(v.accumulate), packA: get(v.packA), packB: get(v.packB), tile: get(v.tile),
    }, (jc, nc, pc, kc) => [
      add(get(v.B), add(mul(pc, get(v.rsB)), mul(jc, get(v.csB)))), get(v.csB), get(v.rsB), nc, kc, get(v.packB), { call: 'gemmPackB' },
    ]),
  ], { exported: false });
}

/** The exported entry: reads a `gemmParams` block and loops over the batch. */
function gemmEntry(): FuncDef {
  const P = gemmParams;
  return func('gemm', { pp: 'i32' }, { b: 'i32', batch: 'i32' }, (v) => {
    const at = (ptr: 'A' | 'B' | 'C', stride: 'aBatch' | 'bBatch' | 'cBatch') =>
      add(P.load(v.pp, ptr), mul(mul(get(v.b), P.load(v.pp, stride)), c(4)));
    return [
      set(v.batch, P.load(v.pp, 'batch')),
      forRange(v.b, c(0), get(v.batch), c(1), [
        at('A', 'aBatch'), P.load(v.pp, 'rsA'), P.load(v.pp, 'csA'),
        at('B', 'bBatch'), P.load(v.pp, 'rsB'), P.load(v.pp, 'csB'),
        at('C', 'cBatch'), P.load(v.pp, 'ldc'),
        P.load(v.pp, 'm0'), P.load(v.pp, 'm1'), P.load(v.pp, 'n0'), P.load(v.pp, 'n1'), P.load(v.pp, 'k'),
        P.load(v.pp, 'accumulate'), P.load(v.pp, 'packA'), P.load(v.pp, 'packB'), P.load(v.pp, 'tile'),
        { call: 'gemmCore' },
      ]),
    ];
  });
}

/** The GEMM's functions: `gemm` is exported, `gemmCore` is for other kernels to call. */
export function gemmFunctions(opts: { relaxed: boolean }): FuncDef[] {
  return [packPanels('gemmPackB', NR), packPanels('gemmPackA', MR), macroKernel(opts.relaxed), gemmCore(), gemmEntry()];
}
