import type { BinaryOp, Shape, TypedArray, UnaryOp } from '../../backend';
import { sizeOf, stridesOf } from '../../shape';

type Fn1 = (x: number) => number;
type Fn2 = (x: number, y: number) => number;

export function unaryFn(op: UnaryOp, a = 0, b = 0): Fn1 {
  switch (op) {
    case 'neg': return (x) => -x;
    case 'exp': return Math.exp;
    case 'log': return Math.log;
    case 'sqrt': return Math.sqrt;
    case 'abs': return Math.abs;
    case 'sign': return (x) => (x > 0 ? 1 : x < 0 ? -1 : 0);
    case 'relu': return (x) => (x > 0 ? x : 0);
    case 'step': return (x) => (x > 0 ? 1 : 0);
    case 'sigmoid': return (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
    case 'tanh': return Math.tanh;
    case 'leakyRelu': return (x) => (x > 0 ? x : a * x);
    case 'leakyReluGrad': return (x) => (x > 0 ? 1 : a);
    case 'powScalar': return (x) => x ** a;
    case 'clamp': return (x) => (x < a ? a : x > b ? b : x);
    case 'affine': return (x) => a * x + b;
    case 'cast': return (x) => x;
  }
}

export function binaryFn(op: BinaryOp, intMath: boolean): Fn2 {
  switch (op) {
    case 'add': return (x, y) => x + y;
    case 'sub': return (x, y) => x - y;
    case 'mul': return intMath ? Math.imul : (x, y) => x * y;
    case 'div': return intMath ? (x, y) => Math.trunc(x / y) : (x, y) => x / y;
    case 'pow': return (x, y) => x ** y;
    case 'maximum': return (x, y) => (x > y || Number.isNaN(x) ? x : y);
    case 'minimum': return (x, y) => (x < y || Number.isNaN(x) ? x : y);
    case 'eq': return (x, y) => (x === y ? 1 : 0);
    case 'ne': return (x, y) => (x !== y ? 1 : 0);
    case 'lt': return (x, y) => (x < y ? 1 : 0);
    case 'le': return (x, y) => (x <= y ? 1 : 0);
    case 'gt': return (x, y) => (x > y ? 1 : 0);
    case 'ge': return (x, y) => (x >= y ? 1 : 0);
  }
}

export function mapUnary(x: TypedArray, out: TypedArray, fn: Fn1): void {
  for (let i = 0; i < out.length; i++) out[i] = fn(x[i]);
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

export function mapBinary(a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, outShape: Shape, out: TypedArray, fn: Fn2): void {
  if (a.length === out.length && b.length === out.length) {
    for (let i = 0; i < out.length; i++) out[i] = fn(a[i], b[i]);
    return;
  }
  if (b.length === 1 && a.length === out.length) {
    const y = b[0];
    for (let i = 0; i < out.length; i++) out[i] = fn(a[i], y);
    return;
  }
  broadcastLoop(outShape, [aShape, bShape], (o, [oa, ob], [sa, sb], n) => {
    for (let i = 0; i < n; i++) out[o + i] = fn(a[oa + i * sa], b[ob + i * sb]);
  });
}
