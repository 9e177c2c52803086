/**
 * sum / max / min of x viewed as [A, B, C, D] over A and C: out[b, d] = op over (a, c) of
 * x[a, b, c, d]. Any reduction whose reduced dims form at most two runs, the first of them
 * leading, takes this form once adjacent dims are merged: the last axis (B, C), a leading
 * axis ([0] of [n, f]: A, D), [0, 2, 3] of NCHW (A, B, C), middle axes (B, C, D).
 *
 * A thread takes outputs b in [b0, b1) and d in [d0, d1); each output's order of
 * operations is fixed by the shape alone, so any split gives the same bits.
 * - D > 1: four outputs at a time down the (a, c) space; sums accumulate each output in
 *   f64 in the order a, c, as the JS reference does, so they equal it bit for bit.
 * - D = 1: runs of C contiguous values; sums keep four f64 partial sums (lanes c mod 4,
 *   a scalar f64 for the C mod 4 tail), max / min four f32 lanes.
 * max / min propagate NaN (wasm's min/max do).
 */
import {
  block, br, brIf, f32, f32x4, f64, f64x2, forRange, func, get, i32, if_, loop, set, v128, type Code, type FuncDef, type Local,
} from './emitter';
import { layout } from './layout';

/** x / out are byte pointers; the rest element counts. */
export const reduceParams = layout(['x', 'out', 'A', 'B', 'C', 'D', 'b0', 'b1', 'd0', 'd1'] as const);

export const REDUCE_OPS = ['sum', 'max', 'min'] as const;
export type WasmReduceOp = (typeof REDUCE_OPS)[number];
/** The exported function of each op. */
export const reduceKernel = (op: WasmReduceOp) => `reduce${op[0].toUpperCase()}${op.slice(1)}` as 'reduceSum' | 'reduceMax' | 'reduceMin';

const c = i32.const;
const { add, mul } = i32;

/** How one op accumulates: four lanes from a 16-byte address, or one value from a 4-byte one. */
interface Acc {
  /** accumulator locals: [lo, hi] f64x2 pairs for sum, one f32x4 for max / min */
  init4(v: V): Code[];
  step4(v: V, addr: Code): Code[];
  /** the four lanes, in output order */
  lane(v: V, i: number): Code;
  /** all four lanes folded into one f32-or-f64 value of the scalar type */
  fold(v: V): Code;
  scalarInit: Code;
  /** the folded lanes with the scalar tail */
  combine(lanes: Code, tail: Code): Code;
  scalarStep(acc: Code, addr: Code): Code;
  /** the scalar accumulator as f32 */
  toF32(s: Code): Code;
}
type V = Record<'lo' | 'hi' | 'q' | 's' | 'a' | 'b' | 'cc' | 'd' | 'p' | 'row' | 'A' | 'B' | 'C' | 'D' | 'C4' | 'dEnd' | 'x' | 'out' | 'pp', Local>;

const sumAcc: Acc = {
  init4: (v) => [set(v.lo, v128.zero()), set(v.hi, v128.zero())],
  step4: (v, addr) => [
    set(v.lo, f64x2.add(get(v.lo), f64x2.promoteLow(v128.load64Zero(addr)))),
    set(v.hi, f64x2.add(get(v.hi), f64x2.promoteLow(v128.load64Zero(addr, 8)))),
  ],
  lane: (v, i) => f64.toF32(f64x2.extractLane(get(i < 2 ? v.lo : v.hi), i % 2)),
  fold: (v) => f64.add(
    f64.add(f64x2.extractLane(get(v.lo), 0), f64x2.extractLane(get(v.hi), 0)),
    f64.add(f64x2.extractLane(get(v.lo), 1), f64x2.extractLane(get(v.hi), 1))),
  scalarInit: f64.const(0),
  combine: f64.add,
  scalarStep: (acc, addr) => f64.add(acc, f64.fromF32(f32.load(addr))),
  toF32: (s) => f64.toF32(s),
};

function extremeAcc(op: 'max' | 'min'): Acc {
  const vec = op === 'max' ? f32x4.max : f32x4.min, sc = op === 'max' ? f32.max : f32.min;
  const init = op === 'max' ? -Infinity : Infinity;
  return {
    init4: (v) => [set(v.q, f32x4.splat(f32.const(init)))],
    step4: (v, addr) => [set(v.q, vec(get(v.q), v128.load(addr)))],
    lane: (v, i) => f32x4.extractLane(get(v.q), i),
    fold: (v) => sc(sc(f32x4.extractLane(get(v.q), 0), f32x4.extractLane(get(v.q), 1)), sc(f32x4.extractLane(get(v.q), 2), f32x4.extractLane(get(v.q), 3))),
    scalarInit: f32.const(init),
    combine: sc,
    scalarStep: (acc, addr) => sc(acc, f32.load(addr)),
    toF32: (s) => s,
  };
}

function reduceFn(op: WasmReduceOp): FuncDef {
  const acc = op === 'sum' ? sumAcc : extremeAcc(op);
  const sType = op === 'sum' ? 'f64' : 'f32';
  return func(reduceKernel(op), { pp: 'i32' }, {
    lo: 'v128', hi: 'v128', q: 'v128', s: sType, a: 'i32', b: 'i32', cc: 'i32', d: 'i32', p: 'i32', row: 'i32',
    A: 'i32', B: 'i32', C: 'i32', D: 'i32', C4: 'i32', dEnd: 'i32', x: 'i32', out: 'i32',
  }, (v0) => {
    const v = v0 as unknown as V;
    const P = reduceParams;
    const outAddr = (i: Code): Code => add(get(v.out), mul(add(mul(get(v.b), get(v.D)), i), c(4)));
    /** p = &x[a, b, 0, d]; the c-th step is D floats on. */
    const startOf = (d: Code): Code => add(get(v.x), mul(add(mul(mul(add(mul(get(v.a), get(v.B)), get(v.b)), get(v.C)), get(v.D)), d), c(4)));
    const strideC = mul(get(v.D), c(4));
    /** for a, for c: body(p) with p = &x[a, b, c, d] */
    const overAC = (d: Code, body: Code[]): Code =>
      forRange(v.a, c(0), get(v.A), c(1),
        set(v.p, startOf(d)),
        forRange(v.cc, c(0), get(v.C), c(1), ...body, set(v.p, add(get(v.p), strideC))));
    const contiguous: Code[] = [
      set(v.C4, i32.and(get(v.C), c(~3))),
      forRange(v.b, P.load(v.pp, 'b0'), P.load(v.pp, 'b1'), c(1),
        ...acc.init4(v),
        set(v.s, acc.scalarInit),
        forRange(v.a, c(0), get(v.A), c(1),
          set(v.row, startOf(c(0))),
          forRange(v.cc, c(0), get(v.C4), c(4), ...acc.step4(v, add(get(v.row), mul(get(v.cc), c(4))))),
          forRange(v.cc, get(v.C4), get(v.C), c(1), set(v.s, acc.scalarStep(get(v.s), add(get(v.row), mul(get(v.cc), c(4))))))),
        f32.store(outAddr(c(0)), acc.toF32(acc.combine(acc.fold(v), get(v.s))))),
    ];
    const strided: Code[] = [
      set(v.dEnd, P.load(v.pp, 'd1')),
      forRange(v.b, P.load(v.pp, 'b0'), P.load(v.pp, 'b1'), c(1),
        set(v.d, P.load(v.pp, 'd0')),
        // four outputs at a time while four remain, then one at a time
        block(loop(
          brIf(1, i32.gt(add(get(v.d), c(4)), get(v.dEnd))),
          ...acc.init4(v),
          overAC(get(v.d), acc.step4(v, get(v.p))),
          ...[0, 1, 2, 3].map((k) => f32.store(outAddr(get(v.d)), acc.lane(v, k), 4 * k)),
          set(v.d, add(get(v.d), c(4))),
          br(0))),
        forRange(v.d, get(v.d), get(v.dEnd), c(1),
          set(v.s, acc.scalarInit),
          overAC(get(v.d), [set(v.s, acc.scalarStep(get(v.s), get(v.p)))]),
          f32.store(outAddr(get(v.d)), acc.toF32(get(v.s))))),
    ];
    return [
      set(v.x, P.load(v.pp, 'x')), set(v.out, P.load(v.pp, 'out')),
      set(v.A, P.load(v.pp, 'A')), set(v.B, P.load(v.pp, 'B')), set(v.C, P.load(v.pp, 'C')), set(v.D, P.load(v.pp, 'D')),
      if_(i32.eq(get(v.D), c(1)), contiguous, strided),
    ];
  });
}

export function reduceFunctions(): FuncDef[] {
  return REDUCE_OPS.map(reduceFn);
}
