/**
 * N-d convolution (1-D to 3-D, spatial dims left-padded to 3) by im2col into the GEMM.
 * Layouts: x [N, Cin, ...in], w [Cout, Cin/G, ...k], y [N, Cout, ...out]; the columns of one
 * item and one group are [Cin/G · K, L] (K = prod(kernel), L = prod(out)), row c·K + tap.
 *
 * Threads split outputs, never a sum: forward and input gradient take a range of batch
 * items [n0, n1); the weight gradient takes a range of columns [r0, r1) of every group's
 * dW (building the im2col rows of the input channels [c0, c1) that hold them) and sums all
 * items itself, in item order.
 */
import {
  block, br, brIf, call, f32, f32x4, forRange, func, get, i32, if_, loop, memory, set, v128, type Code, type FuncDef, type Local,
} from './emitter';
import { NR, blockLocals, gemmBlocks } from './gemm';
import { layout } from './layout';

/** Geometry words, in this order, at the end of the parameter block. */
export const CONV_GEO = [
  'ID', 'IH', 'IW', 'KD', 'KH', 'KW', 'OD', 'OH', 'OW',
  'sD', 'sH', 'sW', 'pD', 'pH', 'pW', 'dD', 'dH', 'dW',
] as const;

/**
 * One block for the three conv kernels. Pointers in bytes; `x`, `w`, `gy` inputs, `out` the
 * result (y, gx or gw); `bias` 0 for none. Items go `nb` at a time, their columns side by
 * side, so small outputs still make a wide product: `cols` holds [channels·K, nb·L] floats
 * of scratch and `part` [coutG, nb·L].
 */
export const convParams = layout([
  'x', 'w', 'bias', 'gy', 'out', 'n0', 'n1', 'nb', 'c0', 'c1', 'r0', 'r1',
  'G', 'cinG', 'coutG', 'rows', 'L', 'plane', 'K',
  'cols', 'part', 'packA', 'packB', 'tile', 'direct',
  ...CONV_GEO,
] as const);

const c = i32.const;
const { add, sub, mul, div } = i32;
const inc = (v: Local, by: Code = c(1)): Code => set(v, add(get(v), by));

type GeoLocals = Record<(typeof CONV_GEO)[number], Local>;
const geoLocals = Object.fromEntries(CONV_GEO.map((k) => [k, 'i32' as const])) as Record<(typeof CONV_GEO)[number], 'i32'>;
const loadGeo = (v: GeoLocals & { geo: Local }): Code[] =>
  CONV_GEO.map((k, i) => set(v[k], i32.load(get(v.geo), i * 4)));

/**
 * The loops shared by im2col and col2im: for each (channel, tap, od, oh) row segment,
 * `valid` gets the in-range output span [lo, hi) of the row (its input row at `rb`,
 * pointer of ow = 0) and `invalid` the rows whose tap falls in the padding.
 */
function windowLoops(v: GeoLocals & Record<'geo' | 'c0' | 'cs' | 'cols' | 'ld' | 'x' | 'base' | 'row' | 'ch' | 'kd' | 'kh' | 'kw' | 'offW' | 'lo' | 'hi' | 'o' | 'od' | 'oh' | 'id' | 'ih' | 'rb', Local>,
  valid: Code[], invalid: Code[]): Code[] {
  const plane = mul(mul(get(v.ID), get(v.IH)), get(v.IW));
  return [
    ...loadGeo(v),
    set(v.row, c(0)),
    forRange(v.ch, c(0), get(v.cs), c(1),
      set(v.base, add(get(v.x), mul(mul(add(get(v.c0), get(v.ch)), plane), c(4)))),
      forRange(v.kd, c(0), get(v.KD), c(1),
        forRange(v.kh, c(0), get(v.KH), c(1),
          forRange(v.kw, c(0), get(v.KW), c(1),
            set(v.offW, sub(mul(get(v.kw), get(v.dW)), get(v.pW))),
            set(v.lo, i32.min(
              [if_i32(i32.ge(get(v.offW), c(0)), c(0), div(sub(get(v.sW), add(get(v.offW), c(1))), get(v.sW)))],
              get(v.OW))),
            set(v.hi, i32.max(get(v.lo), i32.min(
              [if_i32(i32.le(sub(get(v.IW), get(v.offW)), c(0)), c(0), div(add(sub(get(v.IW), get(v.offW)), sub(get(v.sW), c(1))), get(v.sW)))],
              get(v.OW)))),
            set(v.o, add(get(v.cols), mul(mul(get(v.row), get(v.ld)), c(4)))),
            forRange(v.od, c(0), get(v.OD), c(1),
              set(v.id, sub(add(mul(get(v.od), get(v.sD)), mul(get(v.kd), get(v.dD))), get(v.pD))),
              forRange(v.oh, c(0), get(v.OH), c(1),
                set(v.ih, sub(add(mul(get(v.oh), get(v.sH)), mul(get(v.kh), get(v.dH))), get(v.pH))),
                if_(i32.and(
                  i32.and(i32.ge(get(v.id), c(0)), i32.lt(get(v.id), get(v.ID))),
                  i32.and(i32.ge(get(v.ih), c(0)), i32.lt(get(v.ih), get(v.IH)))), [
                  set(v.rb, add(get(v.base), mul(add(mul(add(mul(get(v.id), get(v.IH)), get(v.ih)), get(v.IW)), get(v.offW)), c(4)))),
                  ...valid,
                ], invalid),
                inc(v.o, mul(get(v.OW), c(4))))),
            inc(v.row)))),
    ),
  ];
}

/** A typed `if` expression producing an i32. */
function if_i32(cond: Code, then: Code, otherwise: Code): Code {
  return [cond, 0x04, 0x7f, then, 0x05, otherwise, 0x0b];
}

const windowVars = {
  ...geoLocals, base: 'i32', row: 'i32', ch: 'i32', kd: 'i32', kh: 'i32', kw: 'i32', offW: 'i32', lo: 'i32', hi: 'i32',
  o: 'i32', od: 'i32', oh: 'i32', id: 'i32', ih: 'i32', rb: 'i32', ow: 'i32', sw4: 'i32',
} as const;
const windowParams = { x: 'i32', c0: 'i32', cs: 'i32', cols: 'i32', ld: 'i32', geo: 'i32' } as const;

/**
 * cols[row · ld + l] ← x tap (zero in the padding), channels [c0, c0 + cs) of the item at x.
 * Rows are short (an output row), so the copies and fills are inline loops: a bulk-memory
 * call per few floats costs more than the floats.
 */
function im2col(): FuncDef {
  return func('im2col', windowParams, windowVars, (v) => windowLoops(v, [
    call('zeroRange', get(v.o), get(v.lo)),
    if_(i32.eq(get(v.sW), c(1)), [
      call('copyRange', add(get(v.o), mul(get(v.lo), c(4))), add(get(v.rb), mul(get(v.lo), c(4))), sub(get(v.hi), get(v.lo))),
    ], [
      set(v.sw4, mul(get(v.sW), c(4))),
      forRange(v.ow, get(v.lo), get(v.hi), c(1),
        f32.store(add(get(v.o), mul(get(v.ow), c(4))), f32.load(add(get(v.rb), mul(get(v.ow), get(v.sw4)))))),
    ]),
    call('zeroRange', add(get(v.o), mul(get(v.hi), c(4))), sub(get(v.OW), get(v.hi))),
  ], [
    call('zeroRange', get(v.o), get(v.OW)),
  ]), { exported: false });
}

/** dst[0, n) ← 0, four lanes at a time. */
function zeroRange(): FuncDef {
  return func('zeroRange', { dst: 'i32', n: 'i32' }, { i: 'i32' }, (v) => [
    forRange(v.i, c(0), i32.and(get(v.n), c(~3)), c(4), v128.store(add(get(v.dst), mul(get(v.i), c(4))), v128.zero())),
    forRange(v.i, i32.and(get(v.n), c(~3)), get(v.n), c(1), f32.store(add(get(v.dst), mul(get(v.i), c(4))), f32.const(0))),
  ], { exported: false });
}

/** dst[0, n) ← src[0, n) (no overlap), four lanes at a time. */
function copyRange(): FuncDef {
  return func('copyRange', { dst: 'i32', src: 'i32', n: 'i32' }, { i: 'i32' }, (v) => [
    forRange(v.i, c(0), i32.and(get(v.n), c(~3)), c(4),
      v128.store(add(get(v.dst), mul(get(v.i), c(4))), v128.load(add(get(v.src), mul(get(v.i), c(4)))))),
    forRange(v.i, i32.and(get(v.n), c(~3)), get(v.n), c(1),
      f32.store(add(get(v.dst), mul(get(v.i), c(4))), f32.load(add(get(v.src), mul(get(v.i), c(4)))))),
  ], { exported: false });
}

/** The adjoint of im2col: x tap += cols[row · ld + l] (x is the gradient here). */
function col2im(): FuncDef {
  return func('col2im', windowParams, { ...windowVars, t: 'i32' }, (v) => windowLoops(v, [
    if_(i32.eq(get(v.sW), c(1)), [
      call('addRange', add(get(v.rb), mul(get(v.lo), c(4))), add(get(v.o), mul(get(v.lo), c(4))), sub(get(v.hi), get(v.lo))),
    ], [
      set(v.sw4, mul(get(v.sW), c(4))),
      forRange(v.ow, get(v.lo), get(v.hi), c(1),
        set(v.t, add(get(v.rb), mul(get(v.ow), get(v.sw4)))),
        f32.store(get(v.t), f32.add(f32.load(get(v.t)), f32.load(add(get(v.o), mul(get(v.ow), c(4))))))),
    ]),
  ], []), { exported: false });
}

/** dst[0, n) += src[0, n), four lanes at a time. */
function addRange(): FuncDef {
  return func('addRange', { dst: 'i32', src: 'i32', n: 'i32' }, { i: 'i32', p: 'i32' }, (v) => [
    forRange(v.i, c(0), i32.and(get(v.n), c(~3)), c(4),
      set(v.p, add(get(v.dst), mul(get(v.i), c(4)))),
      v128.store(get(v.p), f32x4.add(v128.load(get(v.p)), v128.load(add(get(v.src), mul(get(v.i), c(4))))))),
    forRange(v.i, i32.and(get(v.n), c(~3)), get(v.n), c(1),
      set(v.p, add(get(v.dst), mul(get(v.i), c(4)))),
      f32.store(get(v.p), f32.add(f32.load(get(v.p)), f32.load(add(get(v.src), mul(get(v.i), c(4))))))),
  ], { exported: false });
}

/**
 * Packs im2col values of one item group straight into the GEMM's packed-B panels, so the
 * column matrix is never written out and read back. Rows r (channel · K + tap) from r0,
 * nr of them; columns l (item · L + output position) from l0, nl of them. Forward layout
 * (`transposed` false): rows are the product's k, columns its n: element (r, l) at
 * dst + (l−l0)/NR panel + (r−r0)·NR + (l−l0)%NR. Weight-gradient layout (true): columns are
 * k and rows n, element at dst + (r−r0)/NR panel + (l−l0)·NR + (r−r0)%NR. Panels past the
 * end are zero padded, as gemmPackB pads them.
 *
 * Works in units of 4 columns, which needs OW % 4 = 0 (then no unit crosses an output row
 * and l0, nl are multiples of 4): a unit whose input row is padding is zero, one inside a
 * unit-stride row is one v128 load, the rest (row edges, strides) gather lane by lane.
 */
function packIm2col(transposed: boolean): FuncDef {
  return func(transposed ? 'packIm2colT' : 'packIm2col',
    { xg: 'i32', itemBytes: 'i32', r0: 'i32', nr: 'i32', l0: 'i32', nl: 'i32', dst: 'i32', geo: 'i32' },
    { ...geoLocals, K: 'i32', L: 'i32', OHW: 'i32', planeBytes: 'i32', panelBytes: 'i32', p: 'i32', ch: 'i32', tap: 'i32',
      kd: 'i32', kh: 'i32', kw: 'i32', dz: 'i32', dy: 'i32', dx: 'i32', chBase: 'i32', l: 'i32', lEnd: 'i32', segEnd: 'i32',
      b: 'i32', rem: 'i32', od: 'i32', oh: 'i32', ow: 'i32', id: 'i32', ih: 'i32', iw: 'i32', iwStep: 'i32', rp: 'i32',
      e: 'i32', d: 'i32', val: 'v128' },
    (v) => {
      const lane = (k: number): Code => {
        const iwk = add(get(v.iw), mul(get(v.sW), c(k)));
        return [if_f32(i32.ltU(iwk, get(v.IW)), f32.load(add(get(v.rp), mul(iwk, c(4)))), f32.const(0))];
      };
      const gather: Code = set(v.val, f32x4.replaceLane(f32x4.replaceLane(f32x4.replaceLane(
        f32x4.splat(lane(0)), 1, lane(1)), 2, lane(2)), 3, lane(3)));
      // where the unit at (row p, column l) goes
      const unitAddress: Code = transposed
        ? add(add(get(v.dst), mul(i32.shr(get(v.p), c(3)), get(v.panelBytes))),
          add(mul(sub(get(v.l), get(v.l0)), c(NR * 4)), mul(i32.and(get(v.p), c(NR - 1)), c(4))))
        : add(add(get(v.dst), mul(get(v.p), c(NR * 4))),
          add(mul(i32.shr(sub(get(v.l), get(v.l0)), c(3)), get(v.panelBytes)), mul(i32.and(sub(get(v.l), get(v.l0)), c(4)), c(4))));
      const storeUnit: Code[] = transposed
        ? [set(v.d, unitAddress), ...[0, 1, 2, 3].map((k) => v128.store32Lane(get(v.d), get(v.val), k, k * NR * 4))]
        : [v128.store(unitAddress, get(v.val))];
      const units = (...body: Code[]): Code =>
        forRange(v.l, get(v.l), get(v.segEnd), c(4), ...body, inc(v.iw, get(v.iwStep)));
      return [
        ...loadGeo(v),
        set(v.K, mul(mul(get(v.KD), get(v.KH)), get(v.KW))),
        set(v.OHW, mul(get(v.OH), get(v.OW))),
        set(v.L, mul(get(v.OD), get(v.OHW))),
        set(v.planeBytes, mul(mul(mul(get(v.ID), get(v.IH)), get(v.IW)), c(4))),
        set(v.lEnd, add(get(v.l0), get(v.nl))),
        set(v.iwStep, mul(get(v.sW), c(4))),
        set(v.panelBytes, mul(transposed ? get(v.nl) : get(v.nr), c(NR * 4))),
        // the lanes past the last whole panel are zeros
        if_(i32.and(transposed ? get(v.nr) : get(v.nl), c(NR - 1)), [
          memory.fill(add(get(v.dst), mul(i32.shr(transposed ? get(v.nr) : get(v.nl), c(3)), get(v.panelBytes))), c(0), get(v.panelBytes)),
        ]),
        forRange(v.p, c(0), get(v.nr), c(1),
          set(v.ch, div(add(get(v.r0), get(v.p)), get(v.K))),
          set(v.tap, sub(add(get(v.r0), get(v.p)), mul(get(v.ch), get(v.K)))),
          set(v.kw, i32.rem(get(v.tap), get(v.KW))),
          set(v.tap, div(get(v.tap), get(v.KW))),
          set(v.kh, i32.rem(get(v.tap), get(v.KH))),
          set(v.kd, div(get(v.tap), get(v.KH))),
          set(v.chBase, add(get(v.xg), mul(get(v.ch), get(v.planeBytes)))),
          set(v.dz, sub(mul(get(v.kd), get(v.dD)), get(v.pD))),
          set(v.dy, sub(mul(get(v.kh), get(v.dH)), get(v.pH))),
          set(v.dx, sub(mul(get(v.kw), get(v.dW)), get(v.pW))),
          // the output position of column l0
          set(v.b, div(get(v.l0), get(v.L))),
          set(v.rem, sub(get(v.l0), mul(get(v.b), get(v.L)))),
          set(v.od, div(get(v.rem), get(v.OHW))),
          set(v.rem, sub(get(v.rem), mul(get(v.od), get(v.OHW)))),
          set(v.oh, div(get(v.rem), get(v.OW))),
          set(v.ow, sub(get(v.rem), mul(get(v.oh), get(v.OW)))),
          set(v.l, get(v.l0)),
          // one output row segment per iteration
          block(loop(
            brIf(1, i32.ge(get(v.l), get(v.lEnd))),
            set(v.segEnd, i32.min(get(v.lEnd), add(get(v.l), sub(get(v.OW), get(v.ow))))),
            set(v.id, add(mul(get(v.od), get(v.sD)), get(v.dz))),
            set(v.ih, add(mul(get(v.oh), get(v.sH)), get(v.dy))),
            set(v.iw, add(mul(get(v.ow), get(v.sW)), get(v.dx))),
            set(v.rp, add(add(get(v.chBase), mul(get(v.b), get(v.itemBytes))),
              mul(mul(add(mul(get(v.id), get(v.IH)), get(v.ih)), get(v.IW)), c(4)))),
            if_(i32.and(i32.ltU(get(v.id), get(v.ID)), i32.ltU(get(v.ih), get(v.IH))), [
              units(
                if_(i32.and(i32.and(i32.eq(get(v.sW), c(1)), i32.ge(get(v.iw), c(0))), i32.le(add(get(v.iw), c(4)), get(v.IW))), [
                  set(v.val, v128.load(add(get(v.rp), mul(get(v.iw), c(4))))),
                ], [gather]),
                ...storeUnit),
            ], [
              set(v.val, v128.zero()),
              units(...storeUnit),
            ]),
            set(v.ow, c(0)),
            inc(v.oh),
            if_(i32.eq(get(v.oh), get(v.OH)), [
              set(v.oh, c(0)),
              inc(v.od),
              if_(i32.eq(get(v.od), get(v.OD)), [set(v.od, c(0)), inc(v.b)]),
            ]),
            br(0))),
        ),
      ];
    }, { exported: false });
}

/**
 * C rows [0, m) × columns [0, n) (+)= A · im2col, with packIm2col in gemmPackB's place and the
 * GEMM's blocking otherwise (so every element sums in the same order as through gemmCore).
 * Forward: A = W_g [m, k rows of cols], B = the columns from row r0. Weight gradient
 * (`transposed`): A = gy [m, k columns], B = cols^T, n rows from r0.
 */
function gemmIm2col(transposed: boolean): FuncDef {
  return func(transposed ? 'gemmIm2colT' : 'gemmIm2col', {
    A: 'i32', rsA: 'i32', csA: 'i32', C: 'i32', ldc: 'i32', m: 'i32', n: 'i32', k: 'i32', accumulate: 'i32',
    xg: 'i32', itemBytes: 'i32', r0: 'i32', geo: 'i32', packA: 'i32', packB: 'i32', tile: 'i32',
  }, blockLocals, (v) => [
    set(v.rsA, mul(get(v.rsA), c(4))), set(v.csA, mul(get(v.csA), c(4))),
    set(v.ldc, mul(get(v.ldc), c(4))),
    gemmBlocks(v, {
      A: get(v.A), rsA: get(v.rsA), csA: get(v.csA), C: get(v.C), ldc: get(v.ldc),
      m0: c(0), m1: get(v.m), n0: c(0), n1: get(v.n), k: get(v.k), accumulate: get(v.accumulate), packA: get(v.packA), packB: get(v.packB), tile: get(v.tile),
    }, (jc, nc, pc, kc) => transposed
      ? call('packIm2colT', get(v.xg), get(v.itemBytes), add(get(v.r0), jc), nc, pc, kc, get(v.packB), get(v.geo))
      : call('packIm2col', get(v.xg), get(v.itemBytes), add(get(v.r0), pc), kc, jc, nc, get(v.packB), get(v.geo))),
  ], { exported: false });
}

const P = convParams;
const entryLocals = {
  n: 'i32', cnt: 'i32', ldc: 'i32', b: 'i32', gi: 'i32', co: 'i32', Cin: 'i32', Cout: 'i32', L: 'i32', nb: 'i32',
  geo: 'i32', target: 'i32', src: 'i32', bv: 'f32',
} as const;
type EntryVars = Record<keyof typeof entryLocals | 'pp', Local>;
const ld = (v: EntryVars, f: (typeof P.fields)[number]) => P.load(v.pp, f);
const prologue = (v: EntryVars): Code[] => [
  set(v.Cin, mul(ld(v, 'G'), ld(v, 'cinG'))),
  set(v.Cout, mul(ld(v, 'G'), ld(v, 'coutG'))),
  set(v.L, ld(v, 'L')),
  set(v.nb, ld(v, 'nb')),
  set(v.geo, add(get(v.pp), c(P.offset.ID))),
];
/** gemmCore's packing arguments, from the block. */
const packArgs = (v: EntryVars): Code[] => [ld(v, 'packA'), ld(v, 'packB'), ld(v, 'tile')];
/** Byte address of element `idx` of the array whose pointer is field `f`. */
const elem = (v: EntryVars, f: 'x' | 'w' | 'gy' | 'out' | 'bias' | 'cols' | 'part', idx: Code): Code => add(ld(v, f), mul(idx, c(4)));
/** Channel row `ch` of item `item` in a [N, chans, L] array (L = plane for x-shaped arrays). */
const rowOf = (v: EntryVars, f: 'x' | 'gy' | 'out', item: Code, chans: Code, ch: Code, len: Code) =>
  elem(v, f, mul(add(mul(item, chans), ch), len));
/** Each item group: items [n, n + cnt) with their columns side by side (ldc = cnt·L). */
const itemGroups = (v: EntryVars, ...body: Code[]): Code =>
  forRange(v.n, ld(v, 'n0'), ld(v, 'n1'), get(v.nb),
    set(v.cnt, i32.min(get(v.nb), sub(ld(v, 'n1'), get(v.n)))),
    set(v.ldc, mul(get(v.cnt), get(v.L))),
    ...body);
/** Columns of the group's items for input channels [ch0, ch0 + cs) of group gi. */
const groupColumns = (v: EntryVars, ch0: Code, cs: Code): Code =>
  forRange(v.b, c(0), get(v.cnt), c(1),
    call('im2col', rowOf(v, 'x', add(get(v.n), get(v.b)), get(v.Cin), c(0), ld(v, 'plane')), ch0, cs,
      elem(v, 'cols', mul(get(v.b), get(v.L))), get(v.ldc), get(v.geo)));
/** x of the item group's first item at the conv group's first channel (packIm2col's xg), and the bytes between items. */
const groupInput = (v: EntryVars): Code => rowOf(v, 'x', get(v.n), get(v.Cin), mul(get(v.gi), ld(v, 'cinG')), ld(v, 'plane'));
const itemBytes = (v: EntryVars): Code => mul(mul(get(v.Cin), ld(v, 'plane')), c(4));
/** src ← gy of the group's items, group gi, as [coutG, ldc]: in place for one item, else gathered into `part`. */
const groupGy = (v: EntryVars): Code[] => [
  if_(i32.eq(get(v.cnt), c(1)), [
    set(v.src, rowOf(v, 'gy', get(v.n), get(v.Cout), mul(get(v.gi), ld(v, 'coutG')), get(v.L))),
  ], [
    set(v.src, ld(v, 'part')),
    forRange(v.b, c(0), get(v.cnt), c(1),
      forRange(v.co, c(0), ld(v, 'coutG'), c(1),
        memory.copy(elem(v, 'part', add(mul(get(v.co), get(v.ldc)), mul(get(v.b), get(v.L)))),
          rowOf(v, 'gy', add(get(v.n), get(v.b)), get(v.Cout), add(mul(get(v.gi), ld(v, 'coutG')), get(v.co)), get(v.L)),
          mul(get(v.L), c(4))))),
  ]),
];
const biasOf = (v: EntryVars): Code => f32.load(elem(v, 'bias', add(mul(get(v.gi), ld(v, 'coutG')), get(v.co))));

/**
 * y (items [n0, n1)) = conv(x, w) (+ bias): per item group and conv group, W_g [coutG, rows]
 * · cols [rows, cnt·L]. One item writes y directly (bias first, then accumulate); several
 * go through `part` and are spread to y with the bias added.
 */
function convForward(): FuncDef {
  return func('convForward', { pp: 'i32' }, entryLocals, (v) => [
    ...prologue(v),
    itemGroups(v,
      forRange(v.gi, c(0), ld(v, 'G'), c(1),
        if_(i32.eqz(ld(v, 'direct')), [groupColumns(v, mul(get(v.gi), ld(v, 'cinG')), ld(v, 'cinG'))]),
        if_(i32.eq(get(v.cnt), c(1)), [
          set(v.target, rowOf(v, 'out', get(v.n), get(v.Cout), mul(get(v.gi), ld(v, 'coutG')), get(v.L))),
          if_(ld(v, 'bias'), [
            forRange(v.co, c(0), ld(v, 'coutG'), c(1),
              call('fillRow', add(get(v.target), mul(mul(get(v.co), get(v.L)), c(4))), get(v.L), biasOf(v))),
          ]),
        ], [set(v.target, ld(v, 'part'))]),
        if_(ld(v, 'direct'), [
          call('gemmIm2col',
            elem(v, 'w', mul(mul(get(v.gi), ld(v, 'coutG')), ld(v, 'rows'))), ld(v, 'rows'), c(1),
            get(v.target), get(v.ldc), ld(v, 'coutG'), get(v.ldc), ld(v, 'rows'),
            i32.and(i32.eq(get(v.cnt), c(1)), i32.ne(ld(v, 'bias'), c(0))),
            groupInput(v), itemBytes(v), c(0), get(v.geo), ...packArgs(v)),
        ], [
          call('gemmCore',
            elem(v, 'w', mul(mul(get(v.gi), ld(v, 'coutG')), ld(v, 'rows'))), ld(v, 'rows'), c(1),
            ld(v, 'cols'), get(v.ldc), c(1),
            get(v.target), get(v.ldc),
            c(0), ld(v, 'coutG'), c(0), get(v.ldc), ld(v, 'rows'),
            i32.and(i32.eq(get(v.cnt), c(1)), i32.ne(ld(v, 'bias'), c(0))), ...packArgs(v)),
        ]),
        if_(i32.gt(get(v.cnt), c(1)), [
          forRange(v.b, c(0), get(v.cnt), c(1),
            forRange(v.co, c(0), ld(v, 'coutG'), c(1),
              set(v.bv, [if_f32(ld(v, 'bias'), biasOf(v), f32.const(0))]),
              call('addRow',
                rowOf(v, 'out', add(get(v.n), get(v.b)), get(v.Cout), add(mul(get(v.gi), ld(v, 'coutG')), get(v.co)), get(v.L)),
                elem(v, 'part', add(mul(get(v.co), get(v.ldc)), mul(get(v.b), get(v.L)))), get(v.L), get(v.bv)))),
        ]))),
  ]);
}

/** gx (items [n0, n1)) = col2im(W_g^T · gy_g) per item group and conv group. */
function convBackwardInput(): FuncDef {
  return func('convBackwardInput', { pp: 'i32' }, entryLocals, (v) => [
    ...prologue(v),
    itemGroups(v,
      memory.fill(rowOf(v, 'out', get(v.n), get(v.Cin), c(0), ld(v, 'plane')), c(0),
        mul(mul(mul(get(v.cnt), get(v.Cin)), ld(v, 'plane')), c(4))),
      forRange(v.gi, c(0), ld(v, 'G'), c(1),
        ...groupGy(v),
        // A = W_g^T: element (r, co) at w[(gi·coutG + co)·rows + r]
        call('gemmCore',
          elem(v, 'w', mul(mul(get(v.gi), ld(v, 'coutG')), ld(v, 'rows'))), c(1), ld(v, 'rows'),
          get(v.src), get(v.ldc), c(1),
          ld(v, 'cols'), get(v.ldc),
          c(0), ld(v, 'rows'), c(0), get(v.ldc), ld(v, 'coutG'), c(0), ...packArgs(v)),
        forRange(v.b, c(0), get(v.cnt), c(1),
          call('col2im', rowOf(v, 'out', add(get(v.n), get(v.b)), get(v.Cin), c(0), ld(v, 'plane')),
            mul(get(v.gi), ld(v, 'cinG')), ld(v, 'cinG'), elem(v, 'cols', mul(get(v.b), get(v.L))), get(v.ldc), get(v.geo))))),
  ]);
}

/**
 * gw columns [r0, r1) (of cinG·K) of every group = Σ over item groups (in order) of
 * gy_g [coutG, cnt·L] · cols^T, the columns built only for the input channels [c0, c1)
 * that hold those rows.
 */
function convBackwardWeight(): FuncDef {
  return func('convBackwardWeight', { pp: 'i32' }, { ...entryLocals, cs: 'i32' }, (v) => [
    ...prologue(v),
    set(v.cs, sub(ld(v, 'c1'), ld(v, 'c0'))),
    itemGroups(v,
      forRange(v.gi, c(0), ld(v, 'G'), c(1),
        ...groupGy(v),
        if_(ld(v, 'direct'), [
          call('gemmIm2colT',
            get(v.src), get(v.ldc), c(1),
            elem(v, 'out', add(mul(mul(get(v.gi), ld(v, 'coutG')), ld(v, 'rows')), ld(v, 'r0'))), ld(v, 'rows'),
            ld(v, 'coutG'), sub(ld(v, 'r1'), ld(v, 'r0')), get(v.ldc),
            i32.gt(get(v.n), ld(v, 'n0')),
            groupInput(v), itemBytes(v), ld(v, 'r0'), get(v.geo), ...packArgs(v)),
        ], [
          groupColumns(v, add(mul(get(v.gi), ld(v, 'cinG')), ld(v, 'c0')), get(v.cs)),
          // B = cols^T from row r0: element (l, r) at cols[(r0 − c0·K + r)·ldc + l]
          call('gemmCore',
            get(v.src), get(v.ldc), c(1),
            elem(v, 'cols', mul(sub(ld(v, 'r0'), mul(ld(v, 'c0'), ld(v, 'K'))), get(v.ldc))), c(1), get(v.ldc),
            elem(v, 'out', add(mul(mul(get(v.gi), ld(v, 'coutG')), ld(v, 'rows')), ld(v, 'r0'))), ld(v, 'rows'),
            c(0), ld(v, 'coutG'), c(0), sub(ld(v, 'r1'), ld(v, 'r0')), get(v.ldc),
            i32.gt(get(v.n), ld(v, 'n0')), ...packArgs(v)),
        ]))),
  ]);
}

function if_f32(cond: Code, then: Code, otherwise: Code): Code {
  return [cond, 0x04, 0x7d, then, 0x05, otherwise, 0x0b];
}

/** dst[i] = value for i < n. */
function fillRow(): FuncDef {
  return func('fillRow', { dst: 'i32', n: 'i32', value: 'f32' }, { i: 'i32', vv: 'v128' }, (v) => [
    set(v.vv, f32x4.splat(get(v.value))),
    forRange(v.i, c(0), i32.and(get(v.n), c(~3)), c(4), v128.store(add(get(v.dst), mul(get(v.i), c(4))), get(v.vv))),
    forRange(v.i, i32.and(get(v.n), c(~3)), get(v.n), c(1), f32.store(add(get(v.dst), mul(get(v.i), c(4))), get(v.value))),
  ], { exported: false });
}

/** dst[i] = src[i] + value for i < n. */
function addRow(): FuncDef {
  return func('addRow', { dst: 'i32', src: 'i32', n: 'i32', value: 'f32' }, { i: 'i32', vv: 'v128' }, (v) => [
    set(v.vv, f32x4.splat(get(v.value))),
    forRange(v.i, c(0), i32.and(get(v.n), c(~3)), c(4),
      v128.store(add(get(v.dst), mul(get(v.i), c(4))), f32x4.add(v128.load(add(get(v.src), mul(get(v.i), c(4)))), get(v.vv)))),
    forRange(v.i, i32.and(get(v.n), c(~3)), get(v.n), c(1),
      f32.store(add(get(v.dst), mul(get(v.i), c(4))), f32.add(f32.load(add(get(v.src), mul(get(v.i), c(4)))), get(v.value)))),
  ], { exported: false });
}

export function convFunctions(): FuncDef[] {
  return [packIm2col(false), packIm2col(true), gemmIm2col(false), gemmIm2col(true), im2col(), col2im(), zeroRange(), copyRange(), addRange(), fillRow(), addRow(), convForward(), convBackwardInput(), convBackwardWeight()];
}
