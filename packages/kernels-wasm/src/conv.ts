/**
 * N-d convolution (1-D to 3-D, spatial dims left-padded to 3) by im2col into the GEMM.
 * Layouts: x [N, Cin, ...in], w [Cout, Cin/G, ...k], y [N, Cout, ...out]; the columns of one
 * item and one group are [Cin/G · K, L] (K = prod(kernel), L = prod(out)), row c·K + tap.
 *
 * Threads split outputs, never a sum: forward and input gradient take a range of batch
 * items [n0, n1); the weight gradient takes a range of input channels [c0, c1) of every
 * group (its own columns of dW) and sums all items itself, in item order.
 */
import {
  call, f32, forRange, func, get, i32, if_, memory, set, type Code, type FuncDef, type Local,
} from './emitter';
import { layout } from './layout';

/** Geometry words, in this order, at the end of the parameter block. */
export const CONV_GEO = [
  'ID', 'IH', 'IW', 'KD', 'KH', 'KW', 'OD', 'OH', 'OW',
  'sD', 'sH', 'sW', 'pD', 'pH', 'pW', 'dD', 'dH', 'dW',
] as const;

/**
 * One block for the three conv kernels. Pointers in bytes; `x`, `w`, `gy` inputs, `out` the
 * result (y, gx or gw); `bias` 0 for none. `cols` holds [cinG·K, L] floats of scratch.
 */
export const convParams = layout([
  'x', 'w', 'bias', 'gy', 'out', 'n0', 'n1', 'c0', 'c1',
  'G', 'cinG', 'coutG', 'rows', 'L', 'plane', 'K',
  'cols', 'packA', 'packB', 'tile',
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

/** cols[row · ld + l] ← x tap (zero in the padding), channels [c0, c0 + cs) of the item at x. */
function im2col(): FuncDef {
  return func('im2col', windowParams, windowVars, (v) => windowLoops(v, [
    memory.fill(get(v.o), c(0), mul(get(v.lo), c(4))),
    if_(i32.eq(get(v.sW), c(1)), [
      memory.copy(add(get(v.o), mul(get(v.lo), c(4))), add(get(v.rb), mul(get(v.lo), c(4))), mul(sub(get(v.hi), get(v.lo)), c(4))),
    ], [
      set(v.sw4, mul(get(v.sW), c(4))),
      forRange(v.ow, get(v.lo), get(v.hi), c(1),
        f32.store(add(get(v.o), mul(get(v.ow), c(4))), f32.load(add(get(v.rb), mul(get(v.ow), get(v.sw4)))))),
    ]),
    memory.fill(add(get(v.o), mul(get(v.hi), c(4))), c(0), mul(sub(get(v.OW), get(v.hi)), c(4))),
  ], [
    memory.fill(get(v.o), c(0), mul(get(v.OW), c(4))),
  ]), { exported: false });
}

/** The adjoint of im2col: x tap += cols[row · ld + l] (x is the gradient here). */
function col2im(): FuncDef {
  return func('col2im', windowParams, { ...windowVars, t: 'i32' }, (v) => windowLoops(v, [
    set(v.sw4, mul(get(v.sW), c(4))),
    forRange(v.ow, get(v.lo), get(v.hi), c(1),
      set(v.t, add(get(v.rb), mul(get(v.ow), get(v.sw4)))),
      f32.store(get(v.t), f32.add(f32.load(get(v.t)), f32.load(add(get(v.o), mul(get(v.ow), c(4))))))),
  ], []), { exported: false });
}

const P = convParams;
const entryLocals = { n: 'i32', gi: 'i32', co: 'i32', l: 'i32', Cin: 'i32', Cout: 'i32', geo: 'i32', dst: 'i32', bv: 'f32' } as const;
type EntryVars = Record<keyof typeof entryLocals | 'pp', Local>;
const ld = (v: EntryVars, f: (typeof P.fields)[number]) => P.load(v.pp, f);
const prologue = (v: EntryVars): Code[] => [
  set(v.Cin, mul(ld(v, 'G'), ld(v, 'cinG'))),
  set(v.Cout, mul(ld(v, 'G'), ld(v, 'coutG'))),
  set(v.geo, add(get(v.pp), c(P.offset.ID))),
];
/** gemmCore's packing arguments, from the block. */
const packArgs = (v: EntryVars): Code[] => [ld(v, 'packA'), ld(v, 'packB'), ld(v, 'tile')];
/** Byte address of element `idx` of the array whose pointer is field `f`. */
const elem = (v: EntryVars, f: 'x' | 'w' | 'gy' | 'out' | 'bias', idx: Code): Code => add(ld(v, f), mul(idx, c(4)));

/** y (items [n0, n1)) = conv(x, w) (+ bias): per item and group, W_g [coutG, rows] · cols_g [rows, L]. */
function convForward(): FuncDef {
  return func('convForward', { pp: 'i32' }, entryLocals, (v) => [
    ...prologue(v),
    forRange(v.n, ld(v, 'n0'), ld(v, 'n1'), c(1),
      forRange(v.gi, c(0), ld(v, 'G'), c(1),
        if_(ld(v, 'bias'), [
          forRange(v.co, c(0), ld(v, 'coutG'), c(1),
            set(v.bv, f32.load(elem(v, 'bias', add(mul(get(v.gi), ld(v, 'coutG')), get(v.co))))),
            set(v.dst, elem(v, 'out', mul(add(mul(get(v.n), get(v.Cout)), add(mul(get(v.gi), ld(v, 'coutG')), get(v.co))), ld(v, 'L')))),
            forRange(v.l, c(0), ld(v, 'L'), c(1), f32.store(add(get(v.dst), mul(get(v.l), c(4))), get(v.bv)))),
        ]),
        call('im2col', elem(v, 'x', mul(mul(get(v.n), get(v.Cin)), ld(v, 'plane'))),
          mul(get(v.gi), ld(v, 'cinG')), ld(v, 'cinG'), ld(v, 'cols'), ld(v, 'L'), get(v.geo)),
        call('gemmCore',
          elem(v, 'w', mul(mul(get(v.gi), ld(v, 'coutG')), ld(v, 'rows'))), ld(v, 'rows'), c(1),
          ld(v, 'cols'), ld(v, 'L'), c(1),
          elem(v, 'out', mul(add(mul(get(v.n), get(v.Cout)), mul(get(v.gi), ld(v, 'coutG'))), ld(v, 'L'))), ld(v, 'L'),
          c(0), ld(v, 'coutG'), c(0), ld(v, 'L'), ld(v, 'rows'), i32.ne(ld(v, 'bias'), c(0)), ...packArgs(v)))),
  ]);
}

/** gx (items [n0, n1)) = col2im(W_g^T · gy_g) per item and group. */
function convBackwardInput(): FuncDef {
  return func('convBackwardInput', { pp: 'i32' }, entryLocals, (v) => [
    ...prologue(v),
    forRange(v.n, ld(v, 'n0'), ld(v, 'n1'), c(1),
      set(v.dst, elem(v, 'out', mul(mul(get(v.n), get(v.Cin)), ld(v, 'plane')))),
      memory.fill(get(v.dst), c(0), mul(mul(get(v.Cin), ld(v, 'plane')), c(4))),
      forRange(v.gi, c(0), ld(v, 'G'), c(1),
        // A = W_g^T: element (r, co) at w[(gi·coutG + co)·rows + r]
        call('gemmCore',
          elem(v, 'w', mul(mul(get(v.gi), ld(v, 'coutG')), ld(v, 'rows'))), c(1), ld(v, 'rows'),
          elem(v, 'gy', mul(add(mul(get(v.n), get(v.Cout)), mul(get(v.gi), ld(v, 'coutG'))), ld(v, 'L'))), ld(v, 'L'), c(1),
          ld(v, 'cols'), ld(v, 'L'),
          c(0), ld(v, 'rows'), c(0), ld(v, 'L'), ld(v, 'coutG'), c(0), ...packArgs(v)),
        call('col2im', get(v.dst), mul(get(v.gi), ld(v, 'cinG')), ld(v, 'cinG'), ld(v, 'cols'), ld(v, 'L'), get(v.geo)))),
  ]);
}

/**
 * gw rows of input channels [c0, c1) of every group = Σ over items n0..n1 (in order) of
 * gy_g [coutG, L] · cols_g^T, the columns built for those channels only.
 */
function convBackwardWeight(): FuncDef {
  return func('convBackwardWeight', { pp: 'i32' }, { ...entryLocals, cs: 'i32' }, (v) => [
    ...prologue(v),
    set(v.cs, sub(ld(v, 'c1'), ld(v, 'c0'))),
    forRange(v.n, ld(v, 'n0'), ld(v, 'n1'), c(1),
      forRange(v.gi, c(0), ld(v, 'G'), c(1),
        call('im2col', elem(v, 'x', mul(mul(get(v.n), get(v.Cin)), ld(v, 'plane'))),
          add(mul(get(v.gi), ld(v, 'cinG')), ld(v, 'c0')), get(v.cs), ld(v, 'cols'), ld(v, 'L'), get(v.geo)),
        // B = cols^T: element (l, r) at cols[r·L + l]
        call('gemmCore',
          elem(v, 'gy', mul(add(mul(get(v.n), get(v.Cout)), mul(get(v.gi), ld(v, 'coutG'))), ld(v, 'L'))), ld(v, 'L'), c(1),
          ld(v, 'cols'), c(1), ld(v, 'L'),
          elem(v, 'out', add(mul(mul(get(v.gi), ld(v, 'coutG')), ld(v, 'rows')), mul(ld(v, 'c0'), ld(v, 'K')))), ld(v, 'rows'),
          c(0), ld(v, 'coutG'), c(0), mul(get(v.cs), ld(v, 'K')), ld(v, 'L'),
          i32.gt(get(v.n), ld(v, 'n0')), ...packArgs(v)))),
  ]);
}

export function convFunctions(): FuncDef[] {
  return [im2col(), col2im(), convForward(), convBackwardInput(), convBackwardWeight()];
}
