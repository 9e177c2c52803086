/**
 * Batch normalisation (training mode) of x viewed as [n, c, s]; a thread takes channels
 * [c0, c1) and does all of each, so any split gives the same bits. Per (item, channel) row
 * the s values are summed four lanes wide in f32 and the rows are added in f64, in item
 * order.
 */
import {
  f32, f32x4, f64, forRange, func, get, i32, if_, set, v128, type Code, type FuncDef, type Local,
} from './emitter';
import { layout } from './layout';

/** Pointers in bytes (weight / bias 0 for none); `eps` holds the f32 bits. */
export const batchNormParams = layout([
  'x', 'weight', 'bias', 'y', 'mean', 'invstd', 'gy', 'gx', 'gweight', 'gbias', 'n', 'c', 's', 'c0', 'c1', 'eps',
] as const);

const c = i32.const;
const { add, mul, sub } = i32;
const at = (base: Local, i: Local, bytes = 4): Code => add(get(base), mul(get(i), c(bytes)));
const hsum = (v: Code, tmp: Local): Code[] => [
  set(tmp, v),
  f32.add(f32.add(f32x4.extractLane(get(tmp), 0), f32x4.extractLane(get(tmp), 1)),
    f32.add(f32x4.extractLane(get(tmp), 2), f32x4.extractLane(get(tmp), 3))),
];
const end4 = (n: Local) => i32.and(get(n), c(~3));

/** Σ over a row of `s` floats of term(x) (and a second row y when given): term sees f32x4 or f32. */
type Term = (x: Code, y: Code, mu: Code, tmp: Local) => Code;
function rowSum(fnName: string, twoRows: boolean, term: Term, termScalar: Term): FuncDef {
  return func(fnName, { p: 'i32', q: 'i32', s: 'i32', mu: 'f32' }, { i: 'i32', acc: 'v128', muv: 'v128', tail: 'f32', tmp: 'v128', d: 'v128', ds: 'f32' }, (v) => [
    set(v.acc, v128.zero()),
    set(v.muv, f32x4.splat(get(v.mu))),
    forRange(v.i, c(0), end4(v.s), c(4),
      set(v.acc, f32x4.add(get(v.acc), term(v128.load(at(v.p, v.i)), twoRows ? v128.load(at(v.q, v.i)) : [], get(v.muv), v.d)))),
    set(v.tail, f32.const(0)),
    forRange(v.i, end4(v.s), get(v.s), c(1),
      set(v.tail, f32.add(get(v.tail), termScalar(f32.load(at(v.p, v.i)), twoRows ? f32.load(at(v.q, v.i)) : [], get(v.mu), v.ds)))),
    f32.add(hsum(get(v.acc), v.tmp), get(v.tail)),
  ], { results: ['f32'], exported: false });
}

/** out[i] = a·p[i] + b·(q[i] − mu) + k over a row (q = p for the forward's affine map). */
function rowAffine(): FuncDef {
  return func('bnRowAffine', { p: 'i32', q: 'i32', out: 'i32', s: 'i32', mu: 'f32', a: 'f32', b: 'f32', k: 'f32' },
    { i: 'i32', muv: 'v128', av: 'v128', bv: 'v128', kv: 'v128' }, (v) => [
      set(v.muv, f32x4.splat(get(v.mu))), set(v.av, f32x4.splat(get(v.a))),
      set(v.bv, f32x4.splat(get(v.b))), set(v.kv, f32x4.splat(get(v.k))),
      forRange(v.i, c(0), end4(v.s), c(4),
        v128.store(at(v.out, v.i), f32x4.add(f32x4.add(
          f32x4.mul(get(v.av), v128.load(at(v.p, v.i))),
          f32x4.mul(get(v.bv), f32x4.sub(v128.load(at(v.q, v.i)), get(v.muv)))), get(v.kv)))),
      forRange(v.i, end4(v.s), get(v.s), c(1),
        f32.store(at(v.out, v.i), f32.add(f32.add(
          f32.mul(get(v.a), f32.load(at(v.p, v.i))),
          f32.mul(get(v.b), f32.sub(f32.load(at(v.q, v.i)), get(v.mu)))), get(v.k)))),
    ], { exported: false });
}

const P = batchNormParams;
export const entryLocals = { ch: 'i32', b: 'i32', row: 'i32', n: 'i32', C: 'i32', s: 'i32', acc: 'f64', acc2: 'f64', m: 'f64', mu: 'f32', inv: 'f32', w: 'f32', sh: 'f32', gb: 'f32', gw: 'f32', scale: 'f32' } as const;
export type Vars = Record<keyof typeof entryLocals | 'pp', Local>;
export const ld = (v: Vars, f: (typeof P.fields)[number]) => P.load(v.pp, f);
export const rowPtr = (v: Vars, f: 'x' | 'y' | 'gy' | 'gx') => add(ld(v, f), mul(mul(add(mul(get(v.b), get(v.C)), get(v.ch)), get(v.s)), c(4)));
export const chPtr = (v: Vars, f: 'mean' | 'invstd' | 'weight' | 'bias' | 'gweight' | 'gbias') => add(ld(v, f), mul(get(v.ch), c(4)));
export const prologue = (v: Vars): Code[] => [
  set(v.n, ld(v, 'n')), set(v.C, ld(v, 'c')), set(v.s, ld(v, 's')),
  set(v.m, f64.fromI32(mul(get(v.n), get(v.s)))),
];
/** Σ over the channel's rows (in item order, f64) of a row function's f32 result. */
const channelSum = (v: Vars, dst: Local, row: Code): Code[] => [
  set(dst, f64.const(0)),
  forRange(v.b, c(0), get(v.n), c(1), set(dst, f64.add(get(dst), f64.fromF32(row)))),
];
export const weightOr1 = (v: Vars): Code => [if_f32(ld(v, 'weight'), f32.load(chPtr(v, 'weight')), f32.const(1))];

export function if_f32(cond: Code, then: Code, otherwise: Code): Code {
  return [cond, 0x04, 0x7d, then, 0x05, otherwise, 0x0b];
}

/**
 * The forward entry; `afterRow` (the fused module's epilogue) runs on each output row once
 * its affine map is written, while the row is in cache.
 */
export function forward(name = 'batchNorm', afterRow?: (v: Vars) => Code): FuncDef {
  return func(name, { pp: 'i32' }, entryLocals, (v) => [
    ...prologue(v),
    forRange(v.ch, ld(v, 'c0'), ld(v, 'c1'), c(1),
      ...channelSum(v, v.acc, [rowPtr(v, 'x'), c(0), get(v.s), f32.const(0), { call: 'bnRowSum' }]),
      set(v.mu, f64.toF32(f64.div(get(v.acc), get(v.m)))),
      ...channelSum(v, v.acc2, [rowPtr(v, 'x'), c(0), get(v.s), get(v.mu), { call: 'bnRowSqDev' }]),
      set(v.inv, f64.toF32(f64.div(f64.const(1), f64.sqrt(f64.add(f64.div(get(v.acc2), get(v.m)), f64.fromF32(f32.load(get(v.pp), P.offset.eps))))))),
      f32.store(chPtr(v, 'mean'), get(v.mu)),
      f32.store(chPtr(v, 'invstd'), get(v.inv)),
      set(v.scale, f32.mul(get(v.inv), weightOr1(v))),
      set(v.sh, [if_f32(ld(v, 'bias'), f32.load(chPtr(v, 'bias')), f32.const(0))]),
      // y = (x − mu)·scale + shift: a = 0, b = scale
      forRange(v.b, c(0), get(v.n), c(1),
        [rowPtr(v, 'x'), rowPtr(v, 'x'), rowPtr(v, 'y'), get(v.s), get(v.mu), f32.const(0), get(v.scale), get(v.sh), { call: 'bnRowAffine' }],
        afterRow ? afterRow(v) : [])),
  ]);
}

function backward(): FuncDef {
  return func('batchNormBackward', { pp: 'i32' }, entryLocals, (v) => [
    ...prologue(v),
    forRange(v.ch, ld(v, 'c0'), ld(v, 'c1'), c(1),
      set(v.mu, f32.load(chPtr(v, 'mean'))),
      set(v.inv, f32.load(chPtr(v, 'invstd'))),
      ...channelSum(v, v.acc, [rowPtr(v, 'gy'), c(0), get(v.s), f32.const(0), { call: 'bnRowSum' }]),
      ...channelSum(v, v.acc2, [rowPtr(v, 'gy'), rowPtr(v, 'x'), get(v.s), get(v.mu), { call: 'bnRowDot' }]),
      ...backwardFromSums(v, rowPtr(v, 'gy'))),
  ]);
}

/**
 * The backward of one channel once its sums are in acc (Σ g) and acc2 (Σ g·(x − mu)):
 * gbias and gweight stored, then gx = scale·(M·g − gb − (x − mu)·inv·gw), scale = w·inv/M,
 * row by row from `gRow` (gy's row, or the fused backward's row of op(gy, y)).
 */
export const backwardFromSums = (v: Vars, gRow: Code): Code[] => [
  set(v.gb, f64.toF32(get(v.acc))),
  set(v.gw, f64.toF32(f64.mul(get(v.acc2), f64.fromF32(get(v.inv))))),
  f32.store(chPtr(v, 'gbias'), get(v.gb)),
  f32.store(chPtr(v, 'gweight'), get(v.gw)),
  set(v.scale, f64.toF32(f64.div(f64.mul(f64.fromF32(weightOr1(v)), f64.fromF32(get(v.inv))), get(v.m)))),
  forRange(v.b, c(0), get(v.n), c(1),
    [gRow, rowPtr(v, 'x'), rowPtr(v, 'gx'), get(v.s), get(v.mu),
      f64.toF32(f64.mul(f64.fromF32(get(v.scale)), get(v.m))),
      f32.mul(f32.sub(f32.const(0), get(v.scale)), f32.mul(get(v.inv), get(v.gw))),
      f32.mul(f32.sub(f32.const(0), get(v.scale)), get(v.gb)),
      { call: 'bnRowAffine' }]),
];

export function batchNormFunctions(): FuncDef[] {
  return [...batchNormRowFunctions(), forward(), backward()];
}

/** The row functions the entries call (the fused modules' entries call them too). */
export function batchNormRowFunctions(): FuncDef[] {
  return [
    rowSum('bnRowSum', false, (x) => x, (x) => x),
    rowSum('bnRowSqDev', false,
      (x, _y, mu, d) => [set(d, f32x4.sub(x, mu)), f32x4.mul(get(d), get(d))],
      (x, _y, mu, d) => [set(d, f32.sub(x, mu)), f32.mul(get(d), get(d))]),
    rowSum('bnRowDot', true, (x, y, mu) => f32x4.mul(x, f32x4.sub(y, mu)), (x, y, mu) => f32.mul(x, f32.sub(y, mu))),
    rowAffine(),
  ];
}
