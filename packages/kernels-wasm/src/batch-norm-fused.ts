/**
 * Batch norm with elementwise ops fused in, generated from their expression trees (as the
 * elementwise modules are, ./expr-wasm): one module per chain of ops, built on first use.
 *
 * - forward with an epilogue: after each (item, channel) row of y is written by the plain
 *   kernel's apply, the row is read back (from cache) and the ops applied in order,
 *   step k reading row k of its residual; each step's lanes are the elementwise module's
 *   code for that op, so the bits are those of the separate calls.
 * - backward with a prologue: g = op(gy, py) is made row by row into a thread's scratch of
 *   one channel (n·s floats, in cache for the usual sizes) as the sums read it, and the gx
 *   pass reads it back: g is made once and never goes to a full-size array.
 *
 * Four elements per step; the last partial step gathers its lanes one by one and runs the
 * same vector code, as the elementwise kernels do, so the split never changes a bit.
 */
import type { ElementwiseKernelOp } from '@webgrad/kernels-ir';
import { assemble, f32, f64, forRange, func, get, i32, i32x4, if_, set, v128, type Code, type FuncDef, type Local, type ValType } from './emitter';
import { layout } from './layout';
import { renderSimd, simdRenderable } from './expr-wasm';
import { MAX_PAGES } from './module';
import {
  backwardFromSums, batchNormParams, batchNormRowFunctions, chPtr, entryLocals, forward, ld, prologue, rowPtr, type Vars,
} from './batch-norm';

/** The most epilogue steps a fused module takes (its parameter block has room for four). */
export const MAX_FUSED_STEPS = 4;

/**
 * The plain kernels' block, then: residual base pointers r0..r3 (0 for a unary step), the
 * prologue's second operand `py`, the thread's scratch (n·s floats), and each step's
 * parameters a and b as f32 bits.
 */
export const batchNormFusedParams = layout([
  ...batchNormParams.fields, 'r0', 'r1', 'r2', 'r3', 'py', 'scratch', 'a0', 'b0', 'a1', 'b1', 'a2', 'b2', 'a3', 'b3',
] as const);
const P = batchNormFusedParams;
type Field = (typeof P.fields)[number];

const c = i32.const;
const { add, mul } = i32;

/** Can these ops be fused here (each tree has a SIMD rendering, and they fit the block)? */
export function batchNormFusable(ops: readonly ElementwiseKernelOp[]): boolean {
  return ops.length > 0 && ops.length <= MAX_FUSED_STEPS && ops.every((op) => simdRenderable(op.expr));
}

/**
 * `name(out, in0, in1, ..., s, pp)`: out[i] = chain(in0[i], ...) over a row of s floats; step
 * k reads the running value as x and, when binary, its next input as y; its parameters are
 * fields a<k>, b<k> of the block at pp. out may be in0 (in place).
 */
function rowMap(name: string, ops: readonly ElementwiseKernelOp[]): FuncDef {
  const inputs = 1 + ops.filter((op) => op.arity === 2).length;
  const ptrs = Object.fromEntries(Array.from({ length: inputs }, (_, k) => [`in${k}`, 'i32'])) as Record<string, ValType>;
  return func(name, { out: 'i32', ...ptrs, s: 'i32', pp: 'i32' }, { i: 'i32', n4: 'i32', rem: 'i32' }, (v, temp) => {
    const vals = Array.from({ length: inputs }, () => temp('v128'));
    const params = ops.map(() => ({ a: temp('f32'), b: temp('f32') }));
    const prelude: Code[] = [];
    const body: Code[] = [];
    let value = vals[0];
    let next = 1;
    ops.forEach((op, k) => {
      const code = renderSimd(op.expr, { x: value, y: op.arity === 2 ? vals[next++] : undefined }, params[k], temp);
      prelude.push(...code.prelude);
      body.push(...code.body);
      value = code.result;
    });
    const ptr = (k: number) => (v as Record<string, Local>)[`in${k}`];
    const lane = (k: number, j: number) => i32.load(add(get(ptr(k)), mul(get(v.i), c(4))), 4 * j);
    return [
      ...params.flatMap((pr, k) => [
        set(pr.a, f32.load(get(v.pp), P.offset[`a${k}` as Field])),
        set(pr.b, f32.load(get(v.pp), P.offset[`b${k}` as Field])),
      ]),
      ...prelude,
      set(v.n4, i32.and(get(v.s), c(~3))),
      forRange(v.i, c(0), get(v.n4), c(4),
        ...vals.map((val, k) => set(val, v128.load(add(get(ptr(k)), mul(get(v.i), c(4)))))),
        ...body,
        v128.store(add(get(v.out), mul(get(v.i), c(4))), get(value))),
      set(v.rem, i32.sub(get(v.s), get(v.n4))),
      set(v.i, get(v.n4)),
      if_(i32.gt(get(v.rem), c(0)), [
        ...vals.flatMap((val, k) => [
          set(val, i32x4.splat(lane(k, 0))),
          if_(i32.gt(get(v.rem), c(1)), [set(val, i32x4.replaceLane(get(val), 1, lane(k, 1)))]),
          if_(i32.gt(get(v.rem), c(2)), [set(val, i32x4.replaceLane(get(val), 2, lane(k, 2)))]),
        ]),
        ...body,
        i32.store(add(get(v.out), mul(get(v.i), c(4))), i32x4.extractLane(get(value), 0)),
        if_(i32.gt(get(v.rem), c(1)), [i32.store(add(get(v.out), mul(get(v.i), c(4))), i32x4.extractLane(get(value), 1), 4)]),
        if_(i32.gt(get(v.rem), c(2)), [i32.store(add(get(v.out), mul(get(v.i), c(4))), i32x4.extractLane(get(value), 2), 8)]),
      ]),
    ];
  }, { exported: false });
}

/** The byte offset of the current (item, channel) row. */
const rowOffset = (v: Vars): Code => mul(mul(add(mul(get(v.b), get(v.C)), get(v.ch)), get(v.s)), c(4));

/** The forward's per-row epilogue call: y row in place, then each binary step's residual row. */
function epilogueCall(ops: readonly ElementwiseKernelOp[]) {
  return (v: Vars): Code => {
    const residuals = ops.flatMap((op, k) => (op.arity === 2 ? [add(P.load(v.pp, `r${k}` as Field), rowOffset(v))] : []));
    return [rowPtr(v, 'y'), rowPtr(v, 'y'), ...residuals, get(v.s), get(v.pp), { call: 'bnEpilogue' }];
  };
}

/**
 * The plain backward with g = op(gy, py) for gy: each row's g made into the scratch before
 * the row functions read it. The two channel sums run in one loop over the rows
 * (each still in item order, so the bits are the plain kernel's).
 */
function backwardWithPrologue(): FuncDef {
  return func('batchNormBackward', { pp: 'i32' }, entryLocals, (v, temp) => {
    // item b's row of the channel in the scratch (n·s floats: the channel's g, kept for the gx pass)
    const scratch = add(P.load(v.pp, 'scratch'), mul(mul(get(v.b), get(v.s)), c(4)));
    const makeG: Code = [scratch, rowPtr(v, 'gy'), add(P.load(v.pp, 'py'), rowOffset(v)), get(v.s), get(v.pp), { call: 'bnPrologue' }];
    return [
      ...prologue(v),
      forRange(v.ch, ld(v, 'c0'), ld(v, 'c1'), c(1),
        set(v.mu, f32.load(chPtr(v, 'mean'))),
        set(v.inv, f32.load(chPtr(v, 'invstd'))),
        set(v.acc, f64.const(0)),
        set(v.acc2, f64.const(0)),
        forRange(v.b, c(0), get(v.n), c(1),
          makeG,
          set(v.acc, f64.add(get(v.acc), f64.fromF32([scratch, c(0), get(v.s), f32.const(0), { call: 'bnRowSum' }]))),
          set(v.acc2, f64.add(get(v.acc2), f64.fromF32([scratch, rowPtr(v, 'x'), get(v.s), get(v.mu), { call: 'bnRowDot' }])))),
        ...backwardFromSums(v, temp, scratch)),
    ];
  });
}

export interface FusedModuleOptions {
  /** The imported memory's declared maximum, in pages (as the kernel module's). */
  maximumPages?: number;
  /** Import a shared memory (default true). */
  shared?: boolean;
}

/**
 * A module exporting `batchNorm` with `epilogue` applied to y, or `batchNormBackward`
 * reading `prologue`(gy, py) for gy (parameter block: batchNormFusedParams); null where a
 * tree has no SIMD rendering or the chain is too long (the caller makes the separate calls).
 */
export function batchNormFusedModule(fusion: { epilogue: readonly ElementwiseKernelOp[] } | { prologue: ElementwiseKernelOp },
  opts: FusedModuleOptions = {}): Uint8Array<ArrayBuffer> | null {
  const ops = 'epilogue' in fusion ? fusion.epilogue : [fusion.prologue];
  if (!batchNormFusable(ops) || ('prologue' in fusion && fusion.prologue.arity !== 2)) return null;
  const rows = batchNormRowFunctions();
  const funcs = 'epilogue' in fusion
    ? [...rows, rowMap('bnEpilogue', ops), forward('batchNorm', epilogueCall(ops))]
    : [...rows, rowMap('bnPrologue', ops), backwardWithPrologue()];
  return assemble({ module: 'env', field: 'memory', initialPages: 1, maximumPages: opts.maximumPages ?? MAX_PAGES, shared: opts.shared ?? true }, funcs);
}
