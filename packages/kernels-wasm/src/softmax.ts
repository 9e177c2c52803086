/**
 * Row-wise softmax / log-softmax of a [rows, cols] matrix, as the JS reference computes it:
 * the row max m, then e = exp(x − m) in f64, their sum s in f64; softmax writes e · (1 / s),
 * log-softmax x − (m + log s). A thread takes rows [r0, r1).
 *
 * exp is evaluated two f64 lanes at a time for arguments ≤ 0 (x − m always is): k = round(x /
 * ln 2), r = x − k·ln 2 in two parts (Cody–Waite), e^r by its Taylor series to degree 13
 * (truncation < 1e-17 relative on |r| ≤ ln 2 / 2), scaled by 2^k as two exact powers of two so
 * results in the subnormal range round once. Against Math.exp it is within 2 ulp (worst
 * measured 1 ulp, test/softmax-exp.test.ts); −∞ gives 0, NaN gives NaN, 0 gives 1.
 *
 * wasm has no log: `softmaxRows` in log mode writes each row's max and sum (f64 pairs), the
 * caller forms lse = max + Math.log(sum), and `logSoftmaxRows` writes x − lse.
 */
import {
  f32, f32x4, f64, f64x2, forRange, func, get, i32, i32x4TruncSatF64x2Zero, i64, i64x2, if_, set, v128, type Code, type FuncDef, type Local,
} from './emitter';
import { layout } from './layout';

/** x / out byte pointers (f32), stats: byte pointer to 2·rows f64 (log mode: [max, sum] per row; logSoftmaxRows reads lse at 2·row). */
export const softmaxParams = layout(['x', 'out', 'stats', 'r0', 'r1', 'cols', 'log'] as const);

const c = i32.const;
const LOG2E = Math.LOG2E;
const LN2_HI = 6.93147180369123816490e-1; // ln 2's high 32 significant bits (fdlibm's ln2HI): k·LN2_HI is exact for |k| < 2^21
const LN2_LO = 1.90821492927058770002e-10;
const TAYLOR = Array.from({ length: 14 }, (_, n) => 1 / [...Array(n).keys()].reduce((f, i) => f * (i + 1), 1)); // 1/n!, n = 0..13

/** 2^k for an f64x2 of integral k in [−538, 0] (a normal number), built from its exponent bits. */
const pow2 = (k: Code): Code =>
  i64x2.shl(i64x2.add(i64x2.extendLowI32x4(i32x4TruncSatF64x2Zero(k)), i64x2.splat(i64.const(1023))), c(52));

/** exp of both lanes of `x` (f64x2, arguments ≤ 0), using v128 locals k, r, p, h. */
export function expF64x2(x: Code, t: { k: Local; r: Local; p: Local; h: Local }): Code[] {
  const splat = (v: number) => f64x2.splat(f64.const(v));
  const horner: Code[] = [set(t.p, splat(TAYLOR[13]))];
  for (let n = 12; n >= 0; n--) horner.push(set(t.p, f64x2.add(f64x2.mul(get(t.p), get(t.r)), splat(TAYLOR[n]))));
  return [
    set(t.r, f64x2.max(x, splat(-746))), // below: 0 (and −∞ stays finite); NaN stays NaN
    set(t.k, f64x2.nearest(f64x2.mul(get(t.r), splat(LOG2E)))),
    set(t.r, f64x2.sub(f64x2.sub(get(t.r), f64x2.mul(get(t.k), splat(LN2_HI))), f64x2.mul(get(t.k), splat(LN2_LO)))),
    ...horner,
    // p · 2^h · 2^(k − h), h = trunc(k / 2): the first product is exact, the second rounds once
    set(t.h, f64x2.trunc(f64x2.mul(get(t.k), splat(0.5)))),
    f64x2.mul(f64x2.mul(get(t.p), pow2(get(t.h))), pow2(f64x2.sub(get(t.k), get(t.h)))),
  ];
}

function softmaxRows(): FuncDef {
  const P = softmaxParams;
  return func('softmaxRows', { pp: 'i32' }, {
    row: 'i32', j: 'i32', cols: 'i32', cols4: 'i32', cols2: 'i32', xr: 'i32', or: 'i32', m4: 'v128', m: 'f32', mv: 'v128',
    acc: 'v128', sum: 'f64', inv: 'v128', e: 'v128', k: 'v128', r: 'v128', p: 'v128', h: 'v128',
  }, (v) => {
    const t = { k: v.k, r: v.r, p: v.p, h: v.h };
    const at = (base: Local): Code => i32.add(get(base), i32.mul(get(v.j), c(4)));
    /** exp(x − m) of two elements at j (f32 pair), or of one (lane 1 then exp(−m), unused) */
    const exp2 = (load: (a: Code) => Code): Code[] => expF64x2(f64x2.sub(f64x2.promoteLow(load(at(v.xr))), get(v.mv)), t);
    const pair = (a: Code) => v128.load64Zero(a), single = (a: Code) => v128.load32Zero(a);
    return [
      set(v.cols, P.load(v.pp, 'cols')),
      set(v.cols4, i32.and(get(v.cols), c(~3))), set(v.cols2, i32.and(get(v.cols), c(~1))),
      forRange(v.row, P.load(v.pp, 'r0'), P.load(v.pp, 'r1'), c(1),
        set(v.xr, i32.add(P.load(v.pp, 'x'), i32.mul(i32.mul(get(v.row), get(v.cols)), c(4)))),
        set(v.or, i32.add(P.load(v.pp, 'out'), i32.mul(i32.mul(get(v.row), get(v.cols)), c(4)))),
        // the row max (NaN if any is NaN)
        set(v.m4, f32x4.splat(f32.const(-Infinity))),
        forRange(v.j, c(0), get(v.cols4), c(4), set(v.m4, f32x4.max(get(v.m4), v128.load(at(v.xr))))),
        set(v.m, f32.max(f32.max(f32x4.extractLane(get(v.m4), 0), f32x4.extractLane(get(v.m4), 1)), f32.max(f32x4.extractLane(get(v.m4), 2), f32x4.extractLane(get(v.m4), 3)))),
        forRange(v.j, get(v.cols4), get(v.cols), c(1), set(v.m, f32.max(get(v.m), f32.load(at(v.xr))))),
        set(v.mv, f64x2.splat(f64.fromF32(get(v.m)))),
        // Σ exp(x − m): lanes j mod 2, then the odd last one
        set(v.acc, v128.zero()),
        forRange(v.j, c(0), get(v.cols2), c(2), set(v.acc, f64x2.add(get(v.acc), exp2(pair)))),
        set(v.sum, f64.add(f64x2.extractLane(get(v.acc), 0), f64x2.extractLane(get(v.acc), 1))),
        forRange(v.j, get(v.cols2), get(v.cols), c(1), set(v.sum, f64.add(get(v.sum), f64x2.extractLane(exp2(single), 0)))),
        if_(P.load(v.pp, 'log'), [
          f64.store(i32.add(P.load(v.pp, 'stats'), i32.mul(get(v.row), c(16))), f64.fromF32(get(v.m))),
          f64.store(i32.add(P.load(v.pp, 'stats'), i32.mul(get(v.row), c(16))), get(v.sum), 8),
        ], [
          set(v.inv, f64x2.splat(f64.div(f64.const(1), get(v.sum)))),
          forRange(v.j, c(0), get(v.cols2), c(2),
            v128.store64Lane(at(v.or), f64x2.demoteZero(f64x2.mul(exp2(pair), get(v.inv))), 0)),
          forRange(v.j, get(v.cols2), get(v.cols), c(1),
            f32.store(at(v.or), f64.toF32(f64x2.extractLane(f64x2.mul(exp2(single), get(v.inv)), 0)))),
        ])),
    ];
  });
}

/** out = x − lse[row] (f64, then f32), lse at stats[2·row]. */
function logSoftmaxRows(): FuncDef {
  const P = softmaxParams;
  return func('logSoftmaxRows', { pp: 'i32' }, { row: 'i32', j: 'i32', cols: 'i32', base: 'i32', lse: 'f64' }, (v) => [
    set(v.cols, P.load(v.pp, 'cols')),
    forRange(v.row, P.load(v.pp, 'r0'), P.load(v.pp, 'r1'), c(1),
      set(v.lse, f64.load(i32.add(P.load(v.pp, 'stats'), i32.mul(get(v.row), c(16))))),
      set(v.base, i32.mul(i32.mul(get(v.row), get(v.cols)), c(4))),
      forRange(v.j, c(0), get(v.cols), c(1),
        f32.store(i32.add(i32.add(P.load(v.pp, 'out'), get(v.base)), i32.mul(get(v.j), c(4))),
          f64.toF32(f64.sub(f64.fromF32(f32.load(i32.add(i32.add(P.load(v.pp, 'x'), get(v.base)), i32.mul(get(v.j), c(4))))), get(v.lse)))))),
  ]);
}

export function softmaxFunctions(): FuncDef[] {
  return [softmaxRows(), logSoftmaxRows()];
}
