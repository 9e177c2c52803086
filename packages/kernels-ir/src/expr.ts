/**
 * The expression language of elementwise ops: a tiny tree that each backend renders into
 * its own code (WGSL in kernels-wgsl, WebAssembly in kernels-wasm, JavaScript in
 * ./expr-js.ts). It lives in this package, below every renderer, so none depends on another.
 *
 * Values have the op's compute type (f32, or i32 for ops that keep ints exact); comparisons
 * and `and`/`or` give booleans, which only `select`, `and`/`or` or the root may take (a
 * boolean root becomes 1 or 0 in the output type). Renderers own each node's precise
 * semantics: `div` and `mul` on i32 follow JavaScript's integer results (truncation, zero
 * for a zero divisor, wrap-around), `pow` follows JavaScript's `**`, and float-only
 * functions on an i32 value compute in f32 and truncate back.
 *
 * Keep the node set small: composite functions (erf, log1p, ...) are builders below that
 * return trees of these nodes, so a new renderer has nothing more to learn.
 */

/** Math functions every renderer provides; the rest of the language composes from these. */
export const MATH_FUNCTIONS = ['exp', 'log', 'sqrt', 'abs', 'sign', 'tanh', 'sin', 'cos', 'pow'] as const;
export type MathFunction = (typeof MATH_FUNCTIONS)[number];
/** Functions that are exact on i32 values (the others compute in f32). */
export const INT_EXACT_FUNCTIONS: readonly MathFunction[] = ['abs', 'sign'];

export type ArithOp = 'add' | 'sub' | 'mul' | 'div';
export type CompareOp = 'lt' | 'le' | 'gt' | 'ge' | 'eq' | 'ne';
export type LogicOp = 'and' | 'or';

export type Expr =
  | { readonly kind: 'input'; readonly name: 'x' | 'y' }
  | { readonly kind: 'arg'; readonly index: number }
  | { readonly kind: 'param'; readonly name: 'a' | 'b' }
  | { readonly kind: 'const'; readonly value: number }
  | { readonly kind: 'neg'; readonly arg: Expr }
  | { readonly kind: 'arith'; readonly op: ArithOp; readonly lhs: Expr; readonly rhs: Expr }
  | { readonly kind: 'compare'; readonly op: CompareOp; readonly lhs: Expr; readonly rhs: Expr }
  | { readonly kind: 'logic'; readonly op: LogicOp; readonly lhs: Expr; readonly rhs: Expr }
  | { readonly kind: 'select'; readonly cond: Expr; readonly ifTrue: Expr; readonly ifFalse: Expr }
  | { readonly kind: 'call'; readonly fn: MathFunction; readonly args: readonly Expr[] }
  | { readonly kind: 'fround'; readonly arg: Expr };

export type ExprKind = Expr['kind'];
export type Operand = Expr | number;

/**
 * How an op treats int32 inputs: 'exact' computes in i32 (neg, abs, comparisons, add...),
 * 'float' converts them to f32 first and truncates the result back when the output is int.
 */
export type IntRule = 'exact' | 'float';

/** What a backend needs to run one elementwise op: its name (cache key) and its tree. */
export interface ElementwiseKernelOp {
  readonly name: string;
  readonly arity: 1 | 2;
  readonly expr: Expr;
  readonly ints: IntRule;
}

const lift = (v: Operand): Expr => (typeof v === 'number' ? { kind: 'const', value: v } : v);

export const x: Expr = { kind: 'input', name: 'x' };
export const y: Expr = { kind: 'input', name: 'y' };
export const a: Expr = { kind: 'param', name: 'a' };
export const b: Expr = { kind: 'param', name: 'b' };
export const num = (value: number): Expr => ({ kind: 'const', value });
/** Input `index` of a fused op (./fused.ts); unary and binary ops read x and y instead. */
export const arg = (index: number): Expr => ({ kind: 'arg', index });
/**
 * The value rounded to float32: where one op's result is stored and the next op reads it.
 * A renderer that computes in f32 already makes it nothing; JavaScript computes in f64.
 */
export const fround = (v: Operand): Expr => ({ kind: 'fround', arg: lift(v) });

export const neg = (v: Operand): Expr => ({ kind: 'neg', arg: lift(v) });
const arith = (op: ArithOp) => (l: Operand, r: Operand): Expr => ({ kind: 'arith', op, lhs: lift(l), rhs: lift(r) });
export const add = arith('add');
export const sub = arith('sub');
export const mul = arith('mul');
export const div = arith('div');
const compare = (op: CompareOp) => (l: Operand, r: Operand): Expr => ({ kind: 'compare', op, lhs: lift(l), rhs: lift(r) });
export const lt = compare('lt');
export const le = compare('le');
export const gt = compare('gt');
export const ge = compare('ge');
export const eq = compare('eq');
export const ne = compare('ne');
export const and = (l: Expr, r: Expr): Expr => ({ kind: 'logic', op: 'and', lhs: l, rhs: r });
export const or = (l: Expr, r: Expr): Expr => ({ kind: 'logic', op: 'or', lhs: l, rhs: r });
export const select = (cond: Expr, ifTrue: Operand, ifFalse: Operand): Expr => ({ kind: 'select', cond, ifTrue: lift(ifTrue), ifFalse: lift(ifFalse) });
const call = (fn: MathFunction) => (...args: Operand[]): Expr => ({ kind: 'call', fn, args: args.map(lift) });
export const exp = call('exp');
export const log = call('log');
export const sqrt = call('sqrt');
export const abs = call('abs');
export const sign = call('sign');
export const tanh = call('tanh');
export const sin = call('sin');
export const cos = call('cos');
export const pow = call('pow');

// --- composites ----------------------------------------------------------------------

export const isNaN = (v: Expr): Expr => ne(v, v);
/** min(max(v, lo), hi); NaN passes through (neither comparison holds), as in PyTorch's clamp. */
export const clampTo = (v: Expr, lo: Operand, hi: Operand): Expr => select(lt(v, lo), lo, select(gt(v, hi), hi, v));
/**
 * 1 / (1 + e^-v), written so that exp never overflows in either tail: with e = e^-|v|,
 * 1 / (1 + e) for v >= 0 and e / (1 + e) below (one exp, also where both sides are computed).
 */
export function sigmoid(v: Expr): Expr {
  const e = exp(neg(abs(v)));
  return select(ge(v, 0), div(1, add(1, e)), div(e, add(1, e)));
}

/**
 * log(1 + v), accurate for small v: u = 1 + v carries the rounding error of the sum, and
 * log(u) · v / (u − 1) cancels it (Goldberg, "What every computer scientist should know").
 * The ratio v / (u − 1) is near 1, so float32 does not overflow for huge v; u = +Infinity
 * gives itself.
 */
export function log1p(v: Expr): Expr {
  const u = add(1, v);
  return select(eq(u, 1), v, select(eq(u, Infinity), u, mul(log(u), div(v, sub(u, 1)))));
}

/**
 * e^v − 1, accurate for small v (Kahan's correction with the same idea as log1p), the
 * ratio taken first as there; e^v that overflows (float32 before float64) gives +Infinity.
 */
export function expm1(v: Expr): Expr {
  const u = exp(v);
  return select(eq(u, 1), v, select(eq(sub(u, 1), -1), -1, select(eq(u, Infinity), u, mul(sub(u, 1), div(v, log(u))))));
}

/**
 * The error function, to about 1.2e-7 relative error everywhere (float32 accuracy): the
 * Chebyshev fit of erfc from Numerical Recipes, erfc(|v|) = t·exp(−v² + P(t)),
 * t = 1 / (1 + |v|/2), and erf(v) = sign(v) · (1 − erfc(|v|)).
 */
export function erf(v: Expr): Expr {
  const z = abs(v);
  const t = div(1, add(1, mul(0.5, z)));
  const coefficients = [-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277];
  let poly: Expr = num(coefficients[coefficients.length - 1]);
  for (let i = coefficients.length - 2; i >= 0; i--) poly = add(coefficients[i], mul(t, poly));
  const erfc = mul(t, exp(add(neg(mul(z, z)), poly)));
  return mul(sign(v), sub(1, erfc));
}

/** Every node kind, for tests that must cover each renderer case. */
export const EXPR_KINDS: readonly ExprKind[] = ['input', 'arg', 'param', 'const', 'neg', 'arith', 'compare', 'logic', 'select', 'call', 'fround'];
