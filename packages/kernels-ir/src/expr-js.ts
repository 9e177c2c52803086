/**
 * The JavaScript rendering of the expression language (./expr.ts), for the cpu backend's
 * reference loops: each op's tree becomes the body of a loop, which the caller compiles
 * once per op (and int/float variant) with `new Function`, so the inner loop runs the
 * expression inline instead of calling a closure per element.
 */
import type { ElementwiseKernelOp, Expr } from './expr';
import { children, exprKey, type FusedElementwiseOp } from './fused';
import { writtenArrays, type UpdateOp } from './update';
import type { ChannelMap } from './batch-norm';

const ARITH = { add: '+', sub: '-', mul: '*', div: '/' } as const;
const COMPARE = { lt: '<', le: '<=', gt: '>', ge: '>=', eq: '===', ne: '!==' } as const;
const LOGIC = { and: '&&', or: '||' } as const;
const MATH = { exp: 'Math.exp', log: 'Math.log', sqrt: 'Math.sqrt', abs: 'Math.abs', tanh: 'Math.tanh', sin: 'Math.sin', cos: 'Math.cos' } as const;

function literal(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '(-Infinity)';
  if (Object.is(v, -0)) return '(-0)';
  return v < 0 ? `(${v})` : `${v}`;
}

/**
 * JavaScript for `e`. With `intMath` (an op that keeps int32 exact, on int32 inputs),
 * mul wraps like i32 and div truncates; storing into an Int32Array does the rest.
 */
export function renderJs(e: Expr, intMath: boolean, bound?: ReadonlyMap<string, string>): string {
  const name = bound?.get(exprKey(e));
  if (name !== undefined) return name;
  const r = (sub: Expr) => renderJs(sub, intMath, bound);
  switch (e.kind) {
    case 'input': return e.name;
    case 'arg': return `in${e.index}`;
    // A name each loop defines: Math.fround where the op computes float32, identity for float64.
    case 'fround': return `fround(${r(e.arg)})`;
    case 'param': return e.name;
    case 'const': return literal(e.value);
    case 'neg': return `(-${r(e.arg)})`;
    case 'arith':
      if (intMath && e.op === 'mul') return `Math.imul(${r(e.lhs)}, ${r(e.rhs)})`;
      if (intMath && e.op === 'div') return `Math.trunc(${r(e.lhs)} / ${r(e.rhs)})`;
      return `(${r(e.lhs)} ${ARITH[e.op]} ${r(e.rhs)})`;
    case 'compare': return `(${r(e.lhs)} ${COMPARE[e.op]} ${r(e.rhs)})`;
    case 'logic': return `(${r(e.lhs)} ${LOGIC[e.op]} ${r(e.rhs)})`;
    case 'select': return `(${r(e.cond)} ? ${r(e.ifTrue)} : ${r(e.ifFalse)})`;
    case 'call':
      if (e.fn === 'pow') return `(${r(e.args[0])} ** ${r(e.args[1])})`;
      if (e.fn === 'sign') return `sign(${r(e.args[0])})`;
      return `${MATH[e.fn]}(${r(e.args[0])})`;
  }
}

/** The value of one element: the tree, with a boolean root as 1 or 0. */
function valueJs(op: ElementwiseKernelOp, intMath: boolean): string {
  const body = renderJs(op.expr, intMath);
  return op.expr.kind === 'compare' || op.expr.kind === 'logic' ? `(${body} ? 1 : 0)` : body;
}

// sign(NaN) is 0 here, like the reference kernels before the op table.
const HELPERS = 'const sign = (v) => (v > 0 ? 1 : v < 0 ? -1 : 0);\n';

/** An op's own fround nodes round to its output type: float32, or nothing in float64. */
const FROUND_BY_OUTPUT = 'const fround = Y instanceof Float64Array ? (v) => v : Math.fround;';

/** Whether an op computes in i32 arithmetic: int32 inputs and an op that keeps them exact. */
export const usesIntMath = (op: ElementwiseKernelOp, int32: boolean): boolean => int32 && op.ints === 'exact';

/**
 * The body of `new Function()` that returns `(X, Y, a, b) => void`: Y[i] = op(X[i]) with the
 * op's parameters a and b.
 */
export function unaryLoopSource(op: ElementwiseKernelOp, intMath: boolean): string {
  return `${HELPERS}return function unary_${op.name}(X, Y, a, b) {
  ${FROUND_BY_OUTPUT}
  for (let i = 0; i < Y.length; i++) { const x = X[i]; Y[i] = ${valueJs(op, intMath)}; }
};`;
}

/**
 * The body of `new Function('broadcastLoop', ...)` that returns
 * `(A, aShape, B, bShape, outShape, Y) => void`: Y = A op B with broadcasting. Equal sizes
 * and a scalar B run flat; other shapes go through `broadcastLoop(outShape, shapes, inner)`,
 * which calls inner(outOffset, operandOffsets, innerStrides, length) per innermost row.
 */
export function binaryLoopSource(op: ElementwiseKernelOp, intMath: boolean): string {
  const value = valueJs(op, intMath);
  return `${HELPERS}return function binary_${op.name}(A, aShape, B, bShape, outShape, Y) {
  ${FROUND_BY_OUTPUT}
  const n = Y.length;
  if (A.length === n && B.length === n) {
    for (let i = 0; i < n; i++) { const x = A[i], y = B[i]; Y[i] = ${value}; }
    return;
  }
  if (B.length === 1 && A.length === n) {
    const y = B[0];
    for (let i = 0; i < n; i++) { const x = A[i]; Y[i] = ${value}; }
    return;
  }
  broadcastLoop(outShape, [aShape, bShape], (o, offs, strides, len) => {
    const oa = offs[0], ob = offs[1], sa = strides[0], sb = strides[1];
    for (let i = 0; i < len; i++) { const x = A[oa + i * sa], y = B[ob + i * sb]; Y[o + i] = ${value}; }
  });
};`;
}

/**
 * Statements binding each distinct op boundary (fround node) of the trees `roots` to a local,
 * innermost first, and each root's value over them: inlining an op that reads its input
 * twice (sigmoid reads it three times) would otherwise compute that input again at each
 * use, and an update's writes share subtrees (Adam's new m is stored and read again).
 */
function boundBody(roots: readonly Expr[]): { lets: string; values: string[] } {
  const bound = new Map<string, string>();
  const lets: string[] = [];
  const visit = (n: Expr): void => {
    const key = exprKey(n);
    if (bound.has(key)) return;
    children(n).forEach(visit);
    if (n.kind === 'fround') {
      const name = `t${bound.size}`;
      lets.push(`const ${name} = ${renderJs(n, false, bound)};`);
      bound.set(key, name);
    }
  };
  roots.forEach(visit);
  return { lets: lets.join(' '), values: roots.map((e) => renderJs(e, false, bound)) };
}

/**
 * The body of `new Function('broadcastLoop', ...)` that returns
 * `(inputs, shapes, outShape, Y) => void`: Y = op(inputs...) with each input broadcast
 * from its shape (outShape's rank) to outShape, in f64 between the fround nodes (the
 * chain of ops it came from computes each op so). Inputs of the output's size run flat.
 */
export function fusedLoopSource(op: FusedElementwiseOp): string {
  const ks = Array.from({ length: op.arity }, (_, k) => k);
  const { lets, values: [value] } = boundBody([op.expr]);
  const arrays = ks.map((k) => `const I${k} = I[${k}];`).join(' ');
  return `${HELPERS}const fround = Math.fround;
return function fused(I, shapes, outShape, Y) {
  const n = Y.length;
  ${arrays}
  if (${ks.map((k) => `I${k}.length === n`).join(' && ')}) {
    for (let i = 0; i < n; i++) { ${ks.map((k) => `const in${k} = I${k}[i];`).join(' ')} ${lets} Y[i] = ${value}; }
    return;
  }
  broadcastLoop(outShape, shapes, (o, offs, strides, len) => {
    ${ks.map((k) => `const o${k} = offs[${k}], s${k} = strides[${k}];`).join(' ')}
    for (let i = 0; i < len; i++) { ${ks.map((k) => `const in${k} = I${k}[o${k} + i * s${k}];`).join(' ')} ${lets} Y[o + i] = ${value}; }
  });
};`;
}

/**
 * The body of `new Function()` that returns `(A, S, i0, i1) => void`: the update `op` over
 * elements [i0, i1) of the arrays A, its scalars S: float32 arithmetic on Float32Arrays, as
 * the tree says, and float64 throughout on Float64Arrays (a float64 model's optimizer).
 * Every write is computed from the old values before any is stored.
 */
export function updateLoopSource(op: UpdateOp): string {
  const written = writtenArrays(op);
  const { lets, values } = boundBody(written.map((k) => op.writes[k]!));
  const arrays = Array.from({ length: op.arrays }, (_, k) => `const A${k} = A[${k}];`).join(' ');
  const scalars = Array.from({ length: op.scalars }, (_, j) => `const in${op.arrays + j} = fround(S[${j}]);`).join(' ');
  const loads = Array.from({ length: op.arrays }, (_, k) => `const in${k} = A${k}[i];`).join(' ');
  return `${HELPERS}return function update(A, S, i0, i1) {
  const fround = A[0] instanceof Float64Array ? (v) => v : Math.fround;
  ${arrays} ${scalars}
  for (let i = i0; i < i1; i++) { ${loads} ${lets} ${written.map((k, j) => `A${k}[i] = ${values[j]};`).join(' ')} }
};`;
}

/**
 * The body of `new Function()` that returns `(C) => (in0, ...) => number`: a channel map's
 * coefficients computed from the channel's inputs C (by name; undefined for an absent one),
 * and the function of one element's inputs over them; all f64, the caller rounds on store
 * (the reference kernels' float32 results are rounded once, their float64 ones not at all).
 */
export function channelMapSource(map: ChannelMap): string {
  const e = map.elements.length, c = map.channelInputs.length;
  const inputs = map.channelInputs.map((name, k) => `const in${e + k} = C.${name}${name in map.absent ? ` ?? ${literal(map.absent[name])}` : ''};`).join(' ');
  // a later coefficient that contains an earlier one reads it
  const bound = new Map<string, string>();
  const coefficients = map.coefficients.map((t, j) => {
    const line = `const in${e + c + j} = ${renderJs(t, false, bound)};`;
    bound.set(exprKey(t), `in${e + c + j}`);
    return line;
  }).join(' ');
  const args = map.elements.map((_, k) => `in${k}`).join(', ');
  return `${HELPERS}return function channel(C) {
  ${inputs} ${coefficients}
  return (${args}) => ${renderJs(map.expr, false)};
};`;
}
