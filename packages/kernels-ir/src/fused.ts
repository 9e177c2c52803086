/**
 * Fused elementwise ops: one expression tree over up to MAX_FUSED_ARITY float32 inputs
 * (`arg(i)` nodes), built by inlining the op table's unary and binary ops into each other
 * (`inlineOp`), so that a chain of elementwise kernels becomes one pass over memory.
 *
 * Every inlined op is wrapped in `fround`: the chain stores each op's result as float32 and
 * the next op reads that, so a renderer that computes in f64 (JavaScript) must round there
 * to give the chain's bits. Inside one op nothing is rounded, as in the op's own kernel.
 */
import type { ElementwiseKernelOp, Expr } from './expr';
import { select } from './expr';

/**
 * The most inputs a fused op takes: with its output that is 8 storage buffers, WebGPU's
 * default maxStorageBuffersPerShaderStage.
 */
export const MAX_FUSED_ARITY = 7;

/** What a backend needs to run a fused op (float32 in and out). */
export interface FusedElementwiseOp {
  /** Cache key: the tree's canonical serialisation (exprKey) and the arity. */
  readonly name: string;
  readonly arity: number;
  /** Reads arg(0) .. arg(arity - 1); no x/y inputs, no parameters; never a boolean root. */
  readonly expr: Expr;
}

const isBoolean = (e: Expr) => e.kind === 'compare' || e.kind === 'logic';

/** A number's key: unlike JSON, NaN, ±Infinity and -0 keep their own spelling. */
const numberKey = (v: number): string => (Object.is(v, -0) ? '-0' : String(v));

const keys = new WeakMap<Expr, string>();

/**
 * A canonical serialisation of `e`: equal strings for equal trees, different ones for
 * trees that compute differently (JSON.stringify would write NaN, Infinity and -Infinity
 * all as null and -0 as 0). Memoized per node object, as renderers key every subtree.
 */
export function exprKey(e: Expr): string {
  let k = keys.get(e);
  if (k !== undefined) return k;
  switch (e.kind) {
    case 'input': k = e.name; break;
    case 'param': k = `$${e.name}`; break;
    case 'arg': k = `#${e.index}`; break;
    case 'const': k = numberKey(e.value); break;
    case 'neg': k = `neg(${exprKey(e.arg)})`; break;
    case 'fround': k = `f(${exprKey(e.arg)})`; break;
    case 'arith': case 'compare': case 'logic': k = `${e.op}(${exprKey(e.lhs)},${exprKey(e.rhs)})`; break;
    case 'select': k = `sel(${exprKey(e.cond)},${exprKey(e.ifTrue)},${exprKey(e.ifFalse)})`; break;
    case 'call': k = `${e.fn}(${e.args.map(exprKey).join(',')})`; break;
  }
  keys.set(e, k);
  return k;
}

/** The direct subtrees of `e`. */
export function children(e: Expr): readonly Expr[] {
  switch (e.kind) {
    case 'input': case 'param': case 'arg': case 'const': return [];
    case 'neg': case 'fround': return [e.arg];
    case 'arith': case 'compare': case 'logic': return [e.lhs, e.rhs];
    case 'select': return [e.cond, e.ifTrue, e.ifFalse];
    case 'call': return e.args;
  }
}

/** `e` with every node rebuilt by `f` from its already mapped children (bottom up). */
function mapTree(e: Expr, f: (e: Expr) => Expr | undefined): Expr {
  const own = f(e);
  if (own) return own;
  switch (e.kind) {
    case 'input': case 'param': case 'arg': case 'const': return e;
    case 'neg': return { kind: 'neg', arg: mapTree(e.arg, f) };
    case 'fround': return { kind: 'fround', arg: mapTree(e.arg, f) };
    case 'arith': case 'compare': case 'logic': return { ...e, lhs: mapTree(e.lhs, f), rhs: mapTree(e.rhs, f) } as Expr;
    case 'select': return { kind: 'select', cond: mapTree(e.cond, f), ifTrue: mapTree(e.ifTrue, f), ifFalse: mapTree(e.ifFalse, f) };
    case 'call': return { kind: 'call', fn: e.fn, args: e.args.map((a) => mapTree(a, f)) };
  }
}

/**
 * A fused op of `arity` inputs computing `expr`. Checks the tree: arg indices below the
 * arity, no x/y inputs and no parameters (inline their values as constants: inlineOp
 * does). A boolean root becomes 1 or 0, as an op's boolean root does.
 */
export function fusedOp(expr: Expr, arity: number): FusedElementwiseOp {
  if (!Number.isInteger(arity) || arity < 1 || arity > MAX_FUSED_ARITY) throw new RangeError(`fusedOp: arity ${arity} is not an integer in 1..${MAX_FUSED_ARITY}`);
  const check = (e: Expr): void => {
    if (e.kind === 'input') throw new Error(`fusedOp: the tree reads the input ${e.name}; a fused op reads arg(0) .. arg(${arity - 1})`);
    if (e.kind === 'param') throw new Error(`fusedOp: the tree reads the parameter ${e.name}; inline its value as a constant`);
    if (e.kind === 'arg' && !(Number.isInteger(e.index) && e.index >= 0 && e.index < arity)) throw new RangeError(`fusedOp: arg(${e.index}) is not an input of an op of arity ${arity}`);
    children(e).forEach(check);
  };
  check(expr);
  const root = isBoolean(expr) ? select(expr, 1, 0) : expr;
  return { name: `fused${arity}:${exprKey(root)}`, arity, expr: root };
}

/** `e` with each arg(i) replaced by the tree `args[i]` (an op's inputs renumbered or bound to subtrees). */
export function substituteArgs(e: Expr, args: readonly Expr[]): Expr {
  return mapTree(e, (n) => (n.kind === 'arg' ? args[n.index] : undefined));
}

/**
 * The tree of `op` (a unary or binary op of the table) applied to the trees `args`, with
 * its parameters a, b as constants, rounded to float32 as the op's stored result is. A
 * boolean root becomes 1 or 0 first, as the op's kernel writes it.
 */
export function inlineOp(op: ElementwiseKernelOp, args: readonly Expr[], a = 0, b = 0): Expr {
  if (args.length !== op.arity) throw new Error(`inlineOp: ${op.name} takes ${op.arity} input${op.arity === 1 ? '' : 's'}, got ${args.length}`);
  const body = mapTree(op.expr, (e) => {
    if (e.kind === 'input') return args[e.name === 'x' ? 0 : 1];
    if (e.kind === 'param') return { kind: 'const', value: e.name === 'a' ? a : b };
    return undefined;
  });
  return { kind: 'fround', arg: isBoolean(body) ? select(body, 1, 0) : body };
}
