/**
 * Renders an elementwise expression tree (./expr) as a WGSL function `op`. The semantics
 * follow the cpu backend (JavaScript number math): NaN wins max/min through the trees that
 * ask for it, int division truncates and gives 0 for a zero divisor, pow handles negative
 * bases like `**`. WGSL leaves NaN to the implementation and lavapipe's compiler gives
 * false for `v != w` when either is NaN (`v != v` included), so `ne` adds a test of the
 * bits (isNaN, `ne(v, v)`, is only that), and the helpers below pass NaN through
 * explicitly; the other comparisons are false with a NaN operand there, as IEEE says.
 */
import { children, expr, exprKey, type ElementwiseKernelOp, type Expr, type FusedElementwiseOp, type MathFunction } from '@webgrad/kernels-ir';
import type { ScalarType } from './kernel';

/**
 * pow with JavaScript's results for negative bases, zero and a zero exponent; tanh clamped
 * (some drivers compute it from exp and give NaN for large |x|) with NaN kept (a clamp
 * turns it into a bound).
 */
export const MATH_F32 = `
fn pow_f32(x: f32, y: f32) -> f32 {
  if (y == 0.0) { return 1.0; }
  let oddInt = floor(y) == y && fract(y * 0.5) != 0.0;
  let negative = (bitcast<u32>(x) & 0x80000000u) != 0u;
  if (x == 0.0) {
    let r0 = select(inf_f32(), 0.0, y > 0.0);
    return select(r0, -r0, negative && oddInt);
  }
  let r = pow(abs(x), y);
  if (x > 0.0) { return r; }
  if (is_nan_f32(x)) { return x; }
  if (floor(y) != y) { return nan_f32(); }
  return select(r, -r, oddInt);
}
fn tanh_f32(x: f32) -> f32 { return select(tanh(clamp(x, -20.0, 20.0)), x, is_nan_f32(x)); }
`;

const sameTree = (l: Expr, r: Expr) => exprKey(l) === exprKey(r);
const isBoolean = (e: Expr) => e.kind === 'compare' || e.kind === 'logic';

const ARITH = { add: '+', sub: '-', mul: '*', div: '/' } as const;
const COMPARE = { lt: '<', le: '<=', gt: '>', ge: '>=', eq: '==', ne: '!=' } as const;
const LOGIC = { and: '&&', or: '||' } as const;

function literal(v: number, t: ScalarType): string {
  if (t === 'i32') {
    if (!Number.isInteger(v)) throw new Error(`elementwise: the constant ${v} has no exact i32 value`);
    return `i32(${v})`;
  }
  if (Number.isNaN(v)) return 'nan_f32()';
  if (v === Infinity) return 'inf_f32()';
  if (v === -Infinity) return '(-inf_f32())';
  const s = Number.isInteger(v) ? `${v}.0` : `${v}`;
  return v < 0 ? `(${s})` : s;
}

function callF32(fn: MathFunction, args: string[]): string {
  switch (fn) {
    case 'pow': return `pow_f32(${args[0]}, ${args[1]})`;
    case 'tanh': return `tanh_f32(${args[0]})`;
    default: return `${fn}(${args.join(', ')})`;
  }
}

/** Where a tree's parameters a and b are read (uniform fields). */
export interface ParamFields { a: string; b: string }
const P_FIELDS: ParamFields = { a: 'p.a', b: 'p.b' };

/**
 * The WGSL for `e` computed in type `t`; `params` names the parameters' fields (p.a, p.b);
 * subtrees in `bound` (by exprKey) are read from the named `let`s.
 */
export function renderWgsl(e: Expr, t: ScalarType, params: ParamFields = P_FIELDS, bound?: ReadonlyMap<string, string>): string {
  const name = bound?.get(exprKey(e));
  if (name !== undefined) return name;
  const r = (sub: Expr) => renderWgsl(sub, t, params, bound);
  switch (e.kind) {
    case 'input': return e.name;
    case 'arg': return `in${e.index}`;
    // f32 compute is already float32
    case 'fround': return r(e.arg);
    case 'param': return t === 'f32' ? params[e.name] : `i32(${params[e.name]})`;
    case 'const': return literal(e.value, t);
    case 'neg': return `(-${r(e.arg)})`;
    case 'arith':
      if (t === 'i32' && e.op === 'div') return `select(${r(e.lhs)} / ${r(e.rhs)}, 0, ${r(e.rhs)} == 0)`;
      return `(${r(e.lhs)} ${ARITH[e.op]} ${r(e.rhs)})`;
    case 'compare':
      if (t === 'f32' && e.op === 'ne') {
        // IEEE: NaN != anything. lavapipe gives false for a NaN operand, so say it with the bits.
        if (sameTree(e.lhs, e.rhs)) return `is_nan_f32(${r(e.lhs)})`;
        return `(${r(e.lhs)} != ${r(e.rhs)} || is_nan_f32(${r(e.lhs)}) || is_nan_f32(${r(e.rhs)}))`;
      }
      return `(${r(e.lhs)} ${COMPARE[e.op]} ${r(e.rhs)})`;
    case 'logic': return `(${r(e.lhs)} ${LOGIC[e.op]} ${r(e.rhs)})`;
    case 'select': return `select(${r(e.ifFalse)}, ${r(e.ifTrue)}, ${r(e.cond)})`;
    case 'call': {
      if (t === 'f32' || expr.INT_EXACT_FUNCTIONS.includes(e.fn)) return t === 'f32' ? callF32(e.fn, e.args.map(r)) : `${e.fn}(${e.args.map(r).join(', ')})`;
      return `i32(${callF32(e.fn, e.args.map((arg) => `f32(${r(arg)})`))})`;
    }
  }
}

/** The type an op computes in for inputs of type `inType`. */
export const computeType = (op: ElementwiseKernelOp, inType: ScalarType): ScalarType => (op.ints === 'exact' ? inType : 'f32');

/**
 * `fn op(x: inType[, y: inType]) -> outType` evaluating the op's tree; a boolean tree
 * gives 1 or 0. A kernel that applies several ops names each (`name`) and gives each its
 * parameter fields (`params`).
 */
export function wgslOpFunction(op: ElementwiseKernelOp, inType: ScalarType, outType: ScalarType, name = 'op', fields: ParamFields = P_FIELDS): string {
  const t = computeType(op, inType);
  const names = op.arity === 1 ? ['x'] : ['x', 'y'];
  const args = names.map((n) => `${n}_in: ${inType}`).join(', ');
  const lets = names.map((n) => `  let ${n} = ${t === inType ? `${n}_in` : `${t}(${n}_in)`};\n`).join('');
  const body = renderWgsl(op.expr, t, fields);
  const result = isBoolean(op.expr) ? `select(${outType}(0), ${outType}(1), ${body})` : `${outType}(${body})`;
  return `fn ${name}(${args}) -> ${outType} {\n${lets}  return ${result};\n}\n`;
}

/**
 * `let`s binding each distinct op boundary (fround node) below the roots `roots` once,
 * innermost first, and each root over them: an inlined op that reads its input more than
 * once would otherwise repeat that input's whole subtree, and an update's writes share
 * subtrees. The roots themselves are not bound.
 */
export function wgslBoundValues(roots: readonly Expr[], indent = '  '): { lets: string; values: string[] } {
  const bound = new Map<string, string>();
  let lets = '';
  const visit = (n: Expr): void => {
    const key = exprKey(n);
    if (bound.has(key)) return;
    children(n).forEach(visit);
    if (n.kind === 'fround' && !roots.includes(n)) {
      const name = `t${bound.size}`;
      lets += `${indent}let ${name} = ${renderWgsl(n, 'f32', P_FIELDS, bound)};\n`;
      bound.set(key, name);
    }
  };
  roots.forEach(visit);
  return { lets, values: roots.map((e) => renderWgsl(e, 'f32', P_FIELDS, bound)) };
}

/** `fn name(in0: f32, ...) -> f32` evaluating a fused op's tree (its op boundaries bound once). */
export function wgslFusedFunction(op: FusedElementwiseOp, name = 'op'): string {
  const { lets, values: [value] } = wgslBoundValues([op.expr]);
  const params = Array.from({ length: op.arity }, (_, k) => `in${k}: f32`).join(', ');
  return `fn ${name}(${params}) -> f32 {\n${lets}  return ${value};\n}\n`;
}
