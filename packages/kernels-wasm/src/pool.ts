/**
 * Max pooling forward over [planes, ...inSize] (spatial dims left-padded to 3). Per dim the
 * caller gives, for each output position, the first valid tap and the valid tap count
 * (i32 tables), so the loops carry no bounds checks. Padding never wins; argmax is the
 * flat index in the input plane, -1 for an empty window (out −Infinity); NaN propagates;
 * ties keep the first. A thread takes planes [p0, p1).
 */
import { f32, f32x4, forRange, func, get, i32, i32x4, if_, set, v128, type Code, type FuncDef, type Local } from './emitter';
import { layout } from './layout';

/** Pointers in bytes; `firstD`… / `countD`… are i32 tables of outD / outH / outW entries; steps in elements. */
export const maxPoolParams = layout([
  'x', 'out', 'argmax', 'p0', 'p1', 'plane', 'L', 'IH', 'IW', 'outD', 'outH', 'outW',
  'firstD', 'countD', 'firstH', 'countH', 'firstW', 'countW', 'stepD', 'stepH', 'stepW',
] as const);

const c = i32.const;
const { add, mul } = i32;
const P = maxPoolParams;

function maxPool(): FuncDef {
  return func('maxPool', { pp: 'i32' }, {
    pl: 'i32', base: 'i32', o: 'i32', od: 'i32', oh: 'i32', ow: 'i32', d0: 'i32', nd: 'i32', h0: 'i32', nh: 'i32', nw: 'i32',
    rowStart: 'i32', start: 'i32', a: 'i32', b: 'i32', k: 'i32', ia: 'i32', ib: 'i32', ic: 'i32', at: 'i32', best: 'f32', val: 'f32',
    sd: 'i32', sh: 'i32', sw: 'i32', IH: 'i32', IW: 'i32',
  }, (v) => {
    const ld = (f: (typeof P.fields)[number]) => P.load(v.pp, f);
    const table = (f: 'firstD' | 'countD' | 'firstH' | 'countH' | 'firstW' | 'countW', i: Local) => i32.load(add(ld(f), mul(get(i), c(4))));
    const store = (f: 'out' | 'argmax', value: Code): Code =>
      (f === 'out' ? f32.store : i32.store)(add(ld(f), mul(get(v.o), c(4))), value);
    return [
      set(v.IH, ld('IH')), set(v.IW, ld('IW')),
      set(v.sd, mul(mul(ld('stepD'), get(v.IH)), get(v.IW))),
      set(v.sh, mul(ld('stepH'), get(v.IW))),
      set(v.sw, ld('stepW')),
      forRange(v.pl, ld('p0'), ld('p1'), c(1),
        set(v.base, add(ld('x'), mul(mul(get(v.pl), ld('plane')), c(4)))),
        set(v.o, mul(get(v.pl), ld('L'))),
        forRange(v.od, c(0), ld('outD'), c(1),
          set(v.d0, table('firstD', v.od)), set(v.nd, table('countD', v.od)),
          forRange(v.oh, c(0), ld('outH'), c(1),
            set(v.h0, table('firstH', v.oh)), set(v.nh, table('countH', v.oh)),
            set(v.rowStart, mul(add(mul(get(v.d0), get(v.IH)), get(v.h0)), get(v.IW))),
            forRange(v.ow, c(0), ld('outW'), c(1),
              set(v.nw, table('countW', v.ow)),
              if_(i32.or(i32.or(i32.le(get(v.nd), c(0)), i32.le(get(v.nh), c(0))), i32.le(get(v.nw), c(0))), [
                store('out', f32.const(-Infinity)),
                store('argmax', c(-1)),
              ], [
                set(v.start, add(get(v.rowStart), table('firstW', v.ow))),
                set(v.best, f32.const(-Infinity)),
                set(v.at, get(v.start)),
                set(v.ia, get(v.start)),
                forRange(v.a, c(0), get(v.nd), c(1),
                  set(v.ib, get(v.ia)),
                  forRange(v.b, c(0), get(v.nh), c(1),
                    set(v.ic, get(v.ib)),
                    forRange(v.k, c(0), get(v.nw), c(1),
                      set(v.val, f32.load(add(get(v.base), mul(get(v.ic), c(4))))),
                      if_(i32.or(f32.gt(get(v.val), get(v.best)), f32.ne(get(v.val), get(v.val))), [
                        set(v.best, get(v.val)),
                        set(v.at, get(v.ic)),
                      ]),
                      set(v.ic, add(get(v.ic), get(v.sw)))),
                    set(v.ib, add(get(v.ib), get(v.sh)))),
                  set(v.ia, add(get(v.ia), get(v.sd)))),
                store('out', get(v.best)),
                store('argmax', get(v.at)),
              ]),
              set(v.o, add(get(v.o), c(1))))))),
    ];
  });
}

/**
 * The 2×2, stride-2 window without padding or dilation (nn.MaxPool2d(2), the lab's pooling)
 * over [planes, IH, IW], when OW is a multiple of 4: four outputs at a time, with no branch.
 * The generic loop above branches on each comparison, which random data mispredicts half
 * the time: [64, 32, 32, 32] took 8.8 ms there and takes 0.6 ms here (2 threads). Same result
 * bit for bit, argmax included: the window's values are taken in the generic loop's order
 * (row 0 left, right, row 1 left, right), each replacing the best when greater or NaN.
 */
export const maxPool2x2Params = layout(['x', 'out', 'argmax', 'p0', 'p1', 'IH', 'IW', 'OH', 'OW'] as const);
const Q = maxPool2x2Params;

function maxPool2x2(): FuncDef {
  return func('maxPool2x2', { pp: 'i32' }, {
    pl: 'i32', oh: 'i32', ow: 'i32', r0: 'i32', r1: 'i32', o: 'i32', IW: 'i32', OW: 'i32', plane: 'i32', L: 'i32',
    lo: 'v128', hi: 'v128', cand: 'v128', best: 'v128', at: 'v128', idx: 'v128', take: 'v128', down: 'v128', downRight: 'v128',
  }, (v) => {
    const ld = (f: (typeof Q.fields)[number]) => Q.load(v.pp, f);
    // best / at take `cand` (whose argmax is `candIdx`) where it is greater, or NaN.
    const consider = (cand: Code, candIdx: Code): Code[] => [
      set(v.cand, cand),
      set(v.take, v128.or(f32x4.gt(get(v.cand), get(v.best)), f32x4.ne(get(v.cand), get(v.cand)))),
      set(v.best, v128.bitselect(get(v.cand), get(v.best), get(v.take))),
      set(v.at, v128.bitselect(candIdx, get(v.at), get(v.take))),
    ];
    const evens = (a: Code, b: Code) => i32x4.shuffle(a, b, [0, 2, 4, 6]);
    const odds = (a: Code, b: Code) => i32x4.shuffle(a, b, [1, 3, 5, 7]);
    return [
      set(v.IW, ld('IW')), set(v.OW, ld('OW')),
      set(v.plane, mul(ld('IH'), get(v.IW))), set(v.L, mul(ld('OH'), get(v.OW))),
      // the index steps from a window's first value to its second row's
      set(v.down, i32x4.splat(get(v.IW))), set(v.downRight, i32x4.splat(add(get(v.IW), c(1)))),
      forRange(v.pl, ld('p0'), ld('p1'), c(1),
        set(v.o, mul(get(v.pl), get(v.L))),
        forRange(v.oh, c(0), ld('OH'), c(1),
          // byte addresses of the window's two input rows; idx: the flat input index of each of four windows' first value
          set(v.r0, add(ld('x'), mul(add(mul(get(v.pl), get(v.plane)), mul(mul(get(v.oh), c(2)), get(v.IW))), c(4)))),
          set(v.r1, add(get(v.r0), mul(get(v.IW), c(4)))),
          set(v.idx, i32x4.add(i32x4.splat(mul(mul(get(v.oh), c(2)), get(v.IW))), v128.i32Lanes([0, 2, 4, 6]))),
          forRange(v.ow, c(0), get(v.OW), c(4),
            set(v.lo, v128.load(get(v.r0))), set(v.hi, v128.load(get(v.r0), 16)),
            set(v.best, evens(get(v.lo), get(v.hi))),
            set(v.at, get(v.idx)),
            ...consider(odds(get(v.lo), get(v.hi)), i32x4.add(get(v.idx), v128.i32Const(1))),
            set(v.lo, v128.load(get(v.r1))), set(v.hi, v128.load(get(v.r1), 16)),
            ...consider(evens(get(v.lo), get(v.hi)), i32x4.add(get(v.idx), get(v.down))),
            ...consider(odds(get(v.lo), get(v.hi)), i32x4.add(get(v.idx), get(v.downRight))),
            v128.store(add(ld('out'), mul(get(v.o), c(4))), get(v.best)),
            v128.store(add(ld('argmax'), mul(get(v.o), c(4))), get(v.at)),
            set(v.o, add(get(v.o), c(4))),
            set(v.r0, add(get(v.r0), c(32))), set(v.r1, add(get(v.r1), c(32))),
            set(v.idx, i32x4.add(get(v.idx), v128.i32Const(8))))),
      ),
    ];
  });
}

export function poolFunctions(): FuncDef[] {
  return [maxPool(), maxPool2x2()];
}
