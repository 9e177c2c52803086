/**
 * Elementwise kernels with broadcasting, generated from the op table's expression trees
 * (./expr-wasm renders the math): one module per op, built on first use, and one for
 * `where`. Every kernel is the same loop nest over up to three operands:
 *
 * - the output is contiguous; the caller collapses the broadcast shape so the last dim is
 *   one run of `len` elements along which each operand either advances (stride 1) or
 *   repeats one value (stride 0: splatted once per run); bit k of `inner` says which;
 * - runs follow each other over `dims` outer dims, an odometer (`idx`, one i32 counter per
 *   dim, set by the caller to the thread's first run) that steps each operand by its byte
 *   stride per dim (`dimTable`: DIM_RECORD words per dim: size, then the strides of in0..in2);
 * - within a run, four elements per step, and a last partial step whose lanes are gathered
 *   and scattered one by one but computed by the same vector code: an element's bits do
 *   not depend on where a thread's range starts (results are the same for any thread count).
 */
import { MAX_FUSED_ARITY, type ElementwiseKernelOp, type FusedElementwiseOp } from '@webgrad/kernels-ir';
import {
  assemble, block, br, brIf, f32, forRange, func, get, i32, i32x4, if_, loop, set, v128, f32x4,
  type Code, type FuncDef, type Local, type ValType,
} from './emitter';
import { layout, type Layout } from './layout';
import { renderSimd, simdRenderable, type SimdCode } from './expr-wasm';
import { MAX_PAGES } from './module';

/** Pointers in bytes; `rows` runs of `len` elements; `a`, `b` the op's parameters as f32 bits. */
export const elementwiseParams = layout(['out', 'rows', 'len', 'dims', 'dimTable', 'idx', 'in0', 'in1', 'in2', 'inner', 'a', 'b'] as const);
/** Words per outer dim in dimTable: size, then the byte stride of in0, in1, in2. */
export const DIM_RECORD = 4;
/** The parameter block of a fused op's kernel: elementwiseParams with MAX_FUSED_ARITY inputs. */
export const fusedParams = layout(['out', 'rows', 'len', 'dims', 'dimTable', 'idx', 'in0', 'in1', 'in2', 'in3', 'in4', 'in5', 'in6', 'inner', 'a', 'b'] as const);
/** Words per outer dim in a fused kernel's dimTable: size, then the byte strides of in0 .. in6. */
export const FUSED_DIM_RECORD = 1 + MAX_FUSED_ARITY;

const c = i32.const;

/** The lanes' computation: the operands' v128 values in, SIMD code out. */
type Lanes = (inputs: Local[], params: { a: Local; b: Local }, temp: (t: ValType) => Local) => SimdCode;

/** Which parameter block a kernel reads: its layout and the words per dimTable record. */
interface Block {
  P: Layout<string>;
  record: number;
  /**
   * 'unrolled': a copy of the run loop per pattern of advancing operands (2^arity copies,
   * each with no test in the loop: the table's ops, arity 3 at most). 'tested': one copy
   * for all operands advancing and one that tests each operand's bit (a fused op's 7
   * inputs would make 128 copies of its tree).
   */
  patterns: 'unrolled' | 'tested';
}

const OPS_BLOCK: Block = { P: elementwiseParams as unknown as Layout<string>, record: DIM_RECORD, patterns: 'unrolled' };
const FUSED_BLOCK: Block = { P: fusedParams as unknown as Layout<string>, record: FUSED_DIM_RECORD, patterns: 'tested' };

/** The loop nest above around `lanes`, as an exported function of one parameter-block pointer. */
function broadcastKernel(name: string, arity: number, lanes: Lanes, blk: Block = OPS_BLOCK): FuncDef {
  const ops = Array.from({ length: arity }, (_, k) => k);
  const named = (prefix: string, type: ValType): Record<string, ValType> => Object.fromEntries(ops.map((k) => [`${prefix}${k}`, type]));
  return func(name, { pp: 'i32' }, {
    out: 'i32', rows: 'i32', len: 'i32', dims: 'i32', table: 'i32', idx: 'i32', inner: 'i32',
    row: 'i32', i: 'i32', n4: 'i32', rem: 'i32', d: 'i32', rec: 'i32', count: 'i32',
    ...named('p', 'i32'), ...named('q', 'i32'),
    a: 'f32', b: 'f32', ...named('v', 'v128'),
  }, (v, temp) => {
    const { P, record } = blk;
    const at = v as unknown as Record<string, Local>;
    const p = ops.map((k) => at[`p${k}`]), q = ops.map((k) => at[`q${k}`]), val = ops.map((k) => at[`v${k}`]);
    const code = lanes(val, { a: v.a, b: v.b }, temp);
    const addTo = (l: Local, n: Code) => set(l, i32.add(get(l), n));

    /**
     * One run with the operands whose bit is set in `pattern` advancing and the others
     * splatted; with `pattern` null the bits are tested at run time (in `inner`).
     */
    const run = (pattern: number | null): Code[] => {
      const moving = (k: number, code: Code[]): Code[] =>
        pattern === null ? [if_(i32.and(get(v.inner), c(1 << k)), code)] : pattern & (1 << k) ? code : [];
      const fixed = (k: number, code: Code[]): Code[] =>
        pattern === null ? [if_(i32.eqz(i32.and(get(v.inner), c(1 << k))), code)] : pattern & (1 << k) ? [] : code;
      const lane = (k: number, j: number) => i32.load(get(q[k]), 4 * j);
      return [
        ...ops.flatMap((k) => fixed(k, [set(val[k], v128.load32Splat(get(q[k])))])),
        forRange(v.i, c(0), get(v.n4), c(4),
          ...ops.flatMap((k) => moving(k, [set(val[k], v128.load(get(q[k]))), addTo(q[k], c(16))])),
          ...code.body,
          v128.store(get(v.out), get(code.result)),
          addTo(v.out, c(16))),
        set(v.rem, i32.sub(get(v.len), get(v.n4))),
        if_(i32.gt(get(v.rem), c(0)), [
          ...ops.flatMap((k) => moving(k, [
            set(val[k], i32x4.splat(lane(k, 0))),
            if_(i32.gt(get(v.rem), c(1)), [set(val[k], i32x4.replaceLane(get(val[k]), 1, lane(k, 1)))]),
            if_(i32.gt(get(v.rem), c(2)), [set(val[k], i32x4.replaceLane(get(val[k]), 2, lane(k, 2)))]),
          ])),
          ...code.body,
          i32.store(get(v.out), i32x4.extractLane(get(code.result), 0)),
          if_(i32.gt(get(v.rem), c(1)), [i32.store(get(v.out), i32x4.extractLane(get(code.result), 1), 4)]),
          if_(i32.gt(get(v.rem), c(2)), [i32.store(get(v.out), i32x4.extractLane(get(code.result), 2), 8)]),
          addTo(v.out, i32.mul(get(v.rem), c(4))),
        ]),
      ];
    };

    // the odometer: the next run's operand pointers
    const step: Code = [
      set(v.d, i32.sub(get(v.dims), c(1))),
      block(loop(
        brIf(1, i32.lt(get(v.d), c(0))),
        set(v.rec, i32.add(get(v.table), i32.mul(get(v.d), c(4 * record)))),
        set(v.count, i32.add(i32.load(i32.add(get(v.idx), i32.mul(get(v.d), c(4)))), c(1))),
        ...ops.map((k) => addTo(p[k], i32.load(get(v.rec), 4 + 4 * k))),
        if_(i32.lt(get(v.count), i32.load(get(v.rec))), [
          i32.store(i32.add(get(v.idx), i32.mul(get(v.d), c(4))), get(v.count)),
          br(2),
        ]),
        i32.store(i32.add(get(v.idx), i32.mul(get(v.d), c(4))), c(0)),
        ...ops.map((k) => set(p[k], i32.sub(get(p[k]), i32.mul(i32.load(get(v.rec), 4 + 4 * k), i32.load(get(v.rec)))))),
        set(v.d, i32.sub(get(v.d), c(1))),
        br(0),
      )),
    ];

    const all = (1 << arity) - 1;
    const runs: Code[] = blk.patterns === 'unrolled'
      ? Array.from({ length: 1 << arity }, (_, pattern) => if_(i32.eq(get(v.inner), c(pattern)), run(pattern)))
      : [if_(i32.eq(get(v.inner), c(all)), run(all), run(null))];
    return [
      set(v.a, f32.load(get(v.pp), P.offset.a)),
      set(v.b, f32.load(get(v.pp), P.offset.b)),
      set(v.out, P.load(v.pp, 'out')), set(v.rows, P.load(v.pp, 'rows')), set(v.len, P.load(v.pp, 'len')),
      set(v.dims, P.load(v.pp, 'dims')), set(v.table, P.load(v.pp, 'dimTable')), set(v.idx, P.load(v.pp, 'idx')),
      set(v.inner, P.load(v.pp, 'inner')),
      ...ops.map((k) => set(p[k], P.load(v.pp, `in${k}`))),
      set(v.n4, i32.and(get(v.len), c(-4))),
      ...code.prelude,
      forRange(v.row, c(0), get(v.rows), c(1),
        ...ops.map((k) => set(q[k], get(p[k]))),
        ...runs,
        step),
    ];
  });
}

export interface ElementwiseModuleOptions {
  /** The imported memory's declared maximum, in pages (as the kernel module's). */
  maximumPages?: number;
  /** Import a shared memory (default true). */
  shared?: boolean;
}

function moduleOf(funcs: FuncDef[], opts: ElementwiseModuleOptions): Uint8Array<ArrayBuffer> {
  return assemble({ module: 'env', field: 'memory', initialPages: 1, maximumPages: opts.maximumPages ?? MAX_PAGES, shared: opts.shared ?? true }, funcs);
}

/**
 * The module of one float32 op of the table: exports `unary` or `binary` (x in in0, y in
 * in1), or null when its tree calls a function with no SIMD rendering (the caller keeps
 * the JavaScript loop).
 */
export function elementwiseModule(op: ElementwiseKernelOp, opts: ElementwiseModuleOptions = {}): Uint8Array<ArrayBuffer> | null {
  if (!simdRenderable(op.expr)) return null;
  const kernel = broadcastKernel(op.arity === 1 ? 'unary' : 'binary', op.arity, ([x, y], params, temp) => renderSimd(op.expr, { x, y }, params, temp));
  return moduleOf([kernel], opts);
}

/** `where` over float32 values: cond in in0 (float32 or int32 lanes, true where not 0), a in in1, b in in2. */
export function whereModule(opts: ElementwiseModuleOptions = {}): Uint8Array<ArrayBuffer> {
  const where = (ne: (x: Code, zero: Code) => Code): Lanes => ([cond, a, b], _params, temp) => {
    const result = temp('v128');
    return { prelude: [], body: [set(result, v128.bitselect(get(a), get(b), ne(get(cond), v128.zero())))], result };
  };
  return moduleOf([
    broadcastKernel('whereF32', 3, where(f32x4.ne)),
    broadcastKernel('whereI32', 3, where(i32x4.ne)),
  ], opts);
}

/**
 * The module of a fused op: exports `fused` (input k in in{k}, unused pointers 0), or null
 * when its tree calls a function with no SIMD rendering. Operands that are all contiguous
 * run straight SIMD; a broadcast operand is splatted per run, tested once per vector.
 */
export function fusedModule(op: FusedElementwiseOp, opts: ElementwiseModuleOptions = {}): Uint8Array<ArrayBuffer> | null {
  if (!simdRenderable(op.expr)) return null;
  const kernel = broadcastKernel('fused', op.arity, (args, params, temp) => renderSimd(op.expr, { args }, params, temp), FUSED_BLOCK);
  return moduleOf([kernel], opts);
}
