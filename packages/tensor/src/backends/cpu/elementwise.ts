/**
 * The cpu rendering of the elementwise op table: each op's expression tree becomes the body
 * of a JavaScript loop, compiled once per op (and int/float variant) with `new Function`,
 * so the inner loop runs the expression inline instead of calling a closure per element.
 */
import type { ElementwiseKernelOp, Expr } from '@webgrad/kernels-wgsl';
import type { Shape, TypedArray } from '../../backend';
import { sizeOf, stridesOf } from '../../shape';

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
export function renderJs(e: Expr, intMath: boolean): string {
  const r = (sub: Expr) => renderJs(sub, intMath);
  switch (e.kind) {
    case 'input': return e.name;
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

type UnaryLoop = (x: TypedArray, out: TypedArray, a: number, b: number) => void;
type BinaryLoop = (a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, outShape: Shape, out: TypedArray) => void;

const unaryLoops = new Map<string, UnaryLoop>();
const binaryLoops = new Map<string, BinaryLoop>();

const usesIntMath = (op: ElementwiseKernelOp, int32: boolean) => int32 && op.ints === 'exact';

/** out[i] = op(x[i]), compiled once per op. */
export function unaryLoop(op: ElementwiseKernelOp, int32: boolean): UnaryLoop {
  const intMath = usesIntMath(op, int32);
  const key = `${op.name}/${intMath}`;
  let loop = unaryLoops.get(key);
  if (!loop) {
    const src = `${HELPERS}return function unary_${op.name}(X, Y, a, b) {
  for (let i = 0; i < Y.length; i++) { const x = X[i]; Y[i] = ${valueJs(op, intMath)}; }
};`;
    loop = new Function(src)() as UnaryLoop;
    unaryLoops.set(key, loop);
  }
  return loop;
}

/** out = x op y with broadcasting, compiled once per op; equal shapes and a scalar y run flat. */
export function binaryLoop(op: ElementwiseKernelOp, int32: boolean): BinaryLoop {
  const intMath = usesIntMath(op, int32);
  const key = `${op.name}/${intMath}`;
  let loop = binaryLoops.get(key);
  if (!loop) {
    const value = valueJs(op, intMath);
    const src = `${HELPERS}return function binary_${op.name}(A, aShape, B, bShape, outShape, Y) {
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
    loop = new Function('broadcastLoop', src)(broadcastLoop) as BinaryLoop;
    binaryLoops.set(key, loop);
  }
  return loop;
}

/** Strides of `shape` inside a tensor broadcast to outShape (0 where the dim is broadcast). */
function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const s = stridesOf(shape);
  return outShape.map((d, i) => (shape[i] === 1 && d !== 1 ? 0 : s[i]));
}

/**
 * Visits every output index, calling visit(outIndex, offsets...) with each operand's offset.
 * The innermost dim runs as a tight loop; outer dims advance an odometer.
 */
export function broadcastLoop(outShape: Shape, shapes: Shape[], inner: (o: number, offs: number[], innerStrides: number[], n: number) => void): void {
  const rank = outShape.length;
  const total = sizeOf(outShape);
  if (total === 0) return;
  const strides = shapes.map((s) => broadcastStrides(s, outShape));
  if (rank === 0) {
    inner(0, shapes.map(() => 0), shapes.map(() => 0), 1);
    return;
  }
  const n = outShape[rank - 1];
  const innerStrides = strides.map((s) => s[rank - 1]);
  const idx = new Array<number>(rank - 1).fill(0);
  const offs = shapes.map(() => 0);
  for (let o = 0; o < total; o += n) {
    inner(o, offs, innerStrides, n);
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]++;
      for (let k = 0; k < offs.length; k++) offs[k] += strides[k][d];
      if (idx[d] < outShape[d]) break;
      for (let k = 0; k < offs.length; k++) offs[k] -= strides[k][d] * idx[d];
      idx[d] = 0;
    }
  }
}
