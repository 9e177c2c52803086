/**
 * Batch normalisation (training mode) of x viewed as [n, c, s]; a thread takes channels
 * [c0, c1) and does all of each, so any split gives the same bits. Per (item, channel) row
 * the s values are summed four lanes wide in f32 and the rows are added in f64, in item
 * order. The elementwise parts (y from x, gx from g) are kernels-ir's channel maps rendered
 * to f32x4 code (./expr-wasm): the coefficients once per channel, the element tree per row.
 */
import { batchNormApply, batchNormGrad, children, type ChannelMap, type Expr } from '@webgrad/kernels-ir';
import {
  f32, f32x4, f64, forRange, func, get, i32, loop, set, v128, type Code, type FuncDef, type Local, type ValType,
} from './emitter';
import { renderSimd, renderSimdAll } from './expr-wasm';
import { layout } from './layout';

/** Pointers in bytes (weight / bias 0 for none); `eps` holds the f32 bits. */
export const batchNormParams = layout([
  'x', 'weight', 'bias', 'y', 'mean', 'invstd', 'gy', 'gx', 'gweight', 'gbias', 'n', 'c', 's', 'c0', 'c1', 'eps',
] as const);

const c = i32.const;
const { add, mul } = i32;
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

/**
 * The channel values (channel inputs and coefficients, by arg index) that the element tree
 * reads: the row function takes only these (gx reads 4 of its 9), so a map's values that
 * only feed its coefficients cost the row calls nothing.
 */
function rowChannelArgs(map: ChannelMap): number[] {
  const read = new Set<number>();
  const visit = (t: Expr): void => {
    if (t.kind === 'arg' && t.index >= map.elements.length) read.add(t.index);
    children(t).forEach(visit);
  };
  visit(map.expr);
  return [...read].sort((p, q) => p - q);
}

/**
 * `name(e0[, e1], out, s, channel values...)`: out[i] = the map's element tree over a row
 * of s floats of each element input, the channel's values (rowChannelArgs) as v128 splats.
 * Four elements per step, then one at a time in lane 0 (no node has side effects, so the
 * idle lanes are harmless); out may be e0.
 */
function channelRow(name: string, map: ChannelMap): FuncDef {
  const elements = Object.fromEntries(map.elements.map((n) => [n, 'i32'])) as Record<string, ValType>;
  const channelArgs = rowChannelArgs(map);
  const channel = Object.fromEntries(channelArgs.map((k) => [`arg${k}`, 'v128'])) as Record<string, ValType>;
  return func(name, { ...elements, out: 'i32', s: 'i32', ...channel }, { i: 'i32' }, (v, temp) => {
    const named = v as Record<string, Local>;
    const values = map.elements.map(() => temp('v128'));
    const args: Local[] = [...values];
    channelArgs.forEach((k) => { args[k] = named[`arg${k}`]; });
    const code = renderSimd(map.expr, { args }, { a: temp('f32'), b: temp('f32') }, temp);
    const addr = (base: Local) => at(base, v.i);
    const step = (load: (a: Code) => Code, store: (a: Code, x: Code) => Code): Code[] => [
      ...map.elements.map((n, k) => set(values[k], load(addr(named[n])))),
      ...code.body,
      store(addr(v.out), get(code.result)),
    ];
    return [
      ...code.prelude,
      forRange(v.i, c(0), end4(v.s), c(4), ...step(v128.load, v128.store)),
      forRange(v.i, end4(v.s), get(v.s), c(1), ...step(v128.load32Zero, (a, x) => f32.store(a, f32x4.extractLane(x, 0)))),
    ];
  }, { exported: false });
}

/**
 * The per-channel part of `map` in an entry: its channel inputs (f32 code each, by name;
 * absent ones as the map says) splat into v128 locals and its coefficients computed from
 * them; `args`: the row function's channel arguments.
 */
function channelValues(map: ChannelMap, inputs: Readonly<Record<string, Code>>, temp: (t: ValType) => Local): { code: Code[]; args: Code[] } {
  const locals = map.channelInputs.map(() => temp('v128'));
  const r = renderSimdAll(map.coefficients, { args: [...Array<Local>(map.elements.length), ...locals] }, { a: temp('f32'), b: temp('f32') }, temp);
  return {
    code: [...map.channelInputs.map((n, k) => set(locals[k], f32x4.splat(inputs[n]))), ...r.prelude, ...r.body],
    args: rowChannelArgs(map).map((k) => get([...Array<Local>(map.elements.length), ...locals, ...r.results][k])),
  };
}

/** The f32 at channel ch of `field`, or the map's value for an absent input (a null pointer). */
const optional = (v: Vars, field: 'weight' | 'bias', absent: number): Code => [if_f32(ld(v, field), f32.load(chPtr(v, field)), f32.const(absent))];

const P = batchNormParams;
export const entryLocals = { ch: 'i32', b: 'i32', row: 'i32', n: 'i32', C: 'i32', s: 'i32', acc: 'f64', acc2: 'f64', m: 'f64', mu: 'f32', inv: 'f32', gb: 'f32', gw: 'f32' } as const;
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

export function if_f32(cond: Code, then: Code, otherwise: Code): Code {
  return [cond, 0x04, 0x7d, then, 0x05, otherwise, 0x0b];
}

/**
 * The forward entry; `afterRow` (the fused module's epilogue) runs on each output row once
 * the apply has written it, while the row is in cache.
 */
export function forward(name = 'batchNorm', afterRow?: (v: Vars) => Code): FuncDef {
  return func(name, { pp: 'i32' }, entryLocals, (v, temp) => {
    const apply = channelValues(batchNormApply, {
      mean: get(v.mu), invstd: get(v.inv),
      weight: optional(v, 'weight', batchNormApply.absent.weight), bias: optional(v, 'bias', batchNormApply.absent.bias),
    }, temp);
    return [
      ...prologue(v),
      forRange(v.ch, ld(v, 'c0'), ld(v, 'c1'), c(1),
        ...channelSum(v, v.acc, [rowPtr(v, 'x'), c(0), get(v.s), f32.const(0), { call: 'bnRowSum' }]),
        set(v.mu, f64.toF32(f64.div(get(v.acc), get(v.m)))),
        ...channelSum(v, v.acc2, [rowPtr(v, 'x'), c(0), get(v.s), get(v.mu), { call: 'bnRowSqDev' }]),
        set(v.inv, f64.toF32(f64.div(f64.const(1), f64.sqrt(f64.add(f64.div(get(v.acc2), get(v.m)), f64.fromF32(f32.load(get(v.pp), P.offset.eps))))))),
        f32.store(chPtr(v, 'mean'), get(v.mu)),
        f32.store(chPtr(v, 'invstd'), get(v.inv)),
        ...apply.code,
        forRange(v.b, c(0), get(v.n), c(1),
          [rowPtr(v, 'x'), rowPtr(v, 'y'), get(v.s), ...apply.args, { call: 'bnRowApply' }],
          afterRow ? afterRow(v) : [])),
    ];
  });
}

function backward(): FuncDef {
  return func('batchNormBackward', { pp: 'i32' }, entryLocals, (v, temp) => [
    ...prologue(v),
    forRange(v.ch, ld(v, 'c0'), ld(v, 'c1'), c(1),
      set(v.mu, f32.load(chPtr(v, 'mean'))),
      set(v.inv, f32.load(chPtr(v, 'invstd'))),
      ...channelSum(v, v.acc, [rowPtr(v, 'gy'), c(0), get(v.s), f32.const(0), { call: 'bnRowSum' }]),
      ...channelSum(v, v.acc2, [rowPtr(v, 'gy'), rowPtr(v, 'x'), get(v.s), get(v.mu), { call: 'bnRowDot' }]),
      ...backwardFromSums(v, temp, rowPtr(v, 'gy'))),
  ]);
}

/**
 * The backward of one channel once its sums are in acc (Σ g) and acc2 (Σ g·(x − mu)):
 * gbias and gweight stored, then gx row by row from `gRow` (gy's row, or the fused
 * backward's row of op(gy, y)).
 */
export const backwardFromSums = (v: Vars, temp: (t: ValType) => Local, gRow: Code): Code[] => {
  const grad = channelValues(batchNormGrad, {
    mean: get(v.mu), invstd: get(v.inv), weight: optional(v, 'weight', batchNormGrad.absent.weight),
    gbias: get(v.gb), gweight: get(v.gw), m: f64.toF32(get(v.m)),
  }, temp);
  return [
    set(v.gb, f64.toF32(get(v.acc))),
    set(v.gw, f64.toF32(f64.mul(get(v.acc2), f64.fromF32(get(v.inv))))),
    f32.store(chPtr(v, 'gbias'), get(v.gb)),
    f32.store(chPtr(v, 'gweight'), get(v.gw)),
    ...grad.code,
    forRange(v.b, c(0), get(v.n), c(1), [gRow, rowPtr(v, 'x'), rowPtr(v, 'gx'), get(v.s), ...grad.args, { call: 'bnRowGrad' }]),
  ];
};

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
    channelRow('bnRowApply', batchNormApply),
    channelRow('bnRowGrad', batchNormGrad),
  ];
}
