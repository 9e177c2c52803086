/**
 * Max pooling backward and average pooling forward / backward over [planes, ...inSize]
 * (spatial dims left-padded to 3), with the same per-dim tap tables as maxPool. A thread
 * takes planes [p0, p1) and writes only those planes, so any split gives the same bits;
 * within a plane the work runs in the JS reference's order, in f64 where it sums, so the
 * results equal the reference's bit for bit.
 */
import { f32, f64, forRange, func, get, i32, if_, memory, set, type Code, type FuncDef, type Local } from './emitter';
import { layout } from './layout';

/** gy [planes, L], argmax [planes, L] (flat index in the input plane, -1 for none) -> gx [planes, plane]. */
export const maxPoolBackwardParams = layout(['gy', 'argmax', 'gx', 'p0', 'p1', 'plane', 'L'] as const);

/**
 * x -> out (forward) or gy -> gx (backward). `first*` / `count*` / `span*` are i32 tables
 * of outD / outH / outW entries: first valid tap, valid tap count, and PyTorch's pool_size
 * (the divisor's factor when `includePad` is 1).
 */
export const avgPoolParams = layout([
  'src', 'dst', 'p0', 'p1', 'plane', 'L', 'IH', 'IW', 'outD', 'outH', 'outW',
  'firstD', 'countD', 'spanD', 'firstH', 'countH', 'spanH', 'firstW', 'countW', 'spanW', 'includePad',
] as const);

const c = i32.const;
const { add, mul } = i32;
const at4 = (base: Code, i: Code): Code => add(base, mul(i, c(4)));

function maxPoolBackward(): FuncDef {
  const P = maxPoolBackwardParams;
  return func('maxPoolBackward', { pp: 'i32' }, { pl: 'i32', o: 'i32', gx: 'i32', ob: 'i32', a: 'i32', L: 'i32', plane: 'i32' }, (v) => [
    set(v.L, P.load(v.pp, 'L')), set(v.plane, P.load(v.pp, 'plane')),
    forRange(v.pl, P.load(v.pp, 'p0'), P.load(v.pp, 'p1'), c(1),
      set(v.gx, at4(P.load(v.pp, 'gx'), mul(get(v.pl), get(v.plane)))),
      memory.fill(get(v.gx), c(0), mul(get(v.plane), c(4))),
      set(v.ob, mul(get(v.pl), get(v.L))),
      forRange(v.o, c(0), get(v.L), c(1),
        set(v.a, i32.load(at4(P.load(v.pp, 'argmax'), add(get(v.ob), get(v.o))))),
        if_(i32.ge(get(v.a), c(0)), [
          f32.store(at4(get(v.gx), get(v.a)), f32.add(
            f32.load(at4(get(v.gx), get(v.a))),
            f32.load(at4(P.load(v.pp, 'gy'), add(get(v.ob), get(v.o)))))),
        ]))),
  ]);
}

/** forward: dst[o] = Σ window / divisor; backward: dst[window] += src[o] / divisor (dst zeroed first). */
function avgPool(backward: boolean): FuncDef {
  const P = avgPoolParams;
  return func(backward ? 'avgPoolBackward' : 'avgPool', { pp: 'i32' }, {
    pl: 'i32', base: 'i32', o: 'i32', od: 'i32', oh: 'i32', ow: 'i32', nd: 'i32', nh: 'i32', nw: 'i32',
    rowStart: 'i32', a: 'i32', b: 'i32', k: 'i32', ia: 'i32', ib: 'i32', IH: 'i32', IW: 'i32', sd: 'i32',
    sum: 'f64', g: 'f64', divisor: 'f64',
  }, (v) => {
    const ld = (f: (typeof P.fields)[number]) => P.load(v.pp, f);
    type Table = 'firstD' | 'countD' | 'spanD' | 'firstH' | 'countH' | 'spanH' | 'firstW' | 'countW' | 'spanW';
    const table = (f: Table, i: Local) => i32.load(at4(ld(f), get(i)));
    const divisor: Code = f64.fromI32([
      ld('includePad'), 0x04, 0x7f,
      mul(mul(table('spanD', v.od), table('spanH', v.oh)), table('spanW', v.ow)),
      0x05,
      mul(mul(get(v.nd), get(v.nh)), get(v.nw)),
      0x0b,
    ]);
    /** The window's taps in the reference's order: body sees the element's byte address in local ib + k·4. */
    const window = (body: (addr: Code) => Code[]): Code =>
      forRange(v.a, c(0), get(v.nd), c(1),
        set(v.ib, get(v.ia)),
        forRange(v.b, c(0), get(v.nh), c(1),
          forRange(v.k, c(0), get(v.nw), c(1), ...body(at4(get(v.ib), get(v.k)))),
          set(v.ib, add(get(v.ib), mul(get(v.IW), c(4))))),
        set(v.ia, add(get(v.ia), mul(get(v.sd), c(4)))));
    const dst = ld('dst'), src = ld('src');
    return [
      set(v.IH, ld('IH')), set(v.IW, ld('IW')), set(v.sd, mul(get(v.IH), get(v.IW))),
      forRange(v.pl, ld('p0'), ld('p1'), c(1),
        // the plane of x (forward) or of gx (backward)
        set(v.base, at4(backward ? dst : src, mul(get(v.pl), ld('plane')))),
        ...(backward ? [memory.fill(get(v.base), c(0), mul(ld('plane'), c(4)))] : []),
        set(v.o, mul(get(v.pl), ld('L'))),
        forRange(v.od, c(0), ld('outD'), c(1),
          set(v.nd, table('countD', v.od)),
          forRange(v.oh, c(0), ld('outH'), c(1),
            set(v.nh, table('countH', v.oh)),
            set(v.rowStart, at4(get(v.base), mul(add(mul(table('firstD', v.od), get(v.IH)), table('firstH', v.oh)), get(v.IW)))),
            forRange(v.ow, c(0), ld('outW'), c(1),
              set(v.nw, table('countW', v.ow)),
              if_(i32.or(i32.or(i32.le(get(v.nd), c(0)), i32.le(get(v.nh), c(0))), i32.le(get(v.nw), c(0))),
                backward ? [] : [f32.store(at4(dst, get(v.o)), f32.const(0))],
                [
                  set(v.ia, at4(get(v.rowStart), table('firstW', v.ow))),
                  set(v.divisor, divisor),
                  ...(backward
                    ? [
                      set(v.g, f64.div(f64.fromF32(f32.load(at4(src, get(v.o)))), get(v.divisor))),
                      window((addr) => [f32.store(addr, f64.toF32(f64.add(f64.fromF32(f32.load(addr)), get(v.g))))]),
                    ]
                    : [
                      set(v.sum, f64.const(0)),
                      window((addr) => [set(v.sum, f64.add(get(v.sum), f64.fromF32(f32.load(addr))))]),
                      f32.store(at4(dst, get(v.o)), f64.toF32(f64.div(get(v.sum), get(v.divisor)))),
                    ]),
                ]),
              set(v.o, add(get(v.o), c(1))))))),
    ];
  });
}

export function poolBackwardFunctions(): FuncDef[] {
  return [maxPoolBackward(), avgPool(false), avgPool(true)];
}
