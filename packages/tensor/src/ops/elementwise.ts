import type { BinaryOp, DType, UnaryOp } from '../backend';
import { record } from '../autograd';
import { broadcastShapes, padRank } from '../shape';
import { Tensor } from '../tensor';
import { commonBackend, requireFloat, wrap } from './util';
import { full } from './creation';
import { sumTo } from './reduce';

export type Operand = Tensor | number;

function unaryRaw(op: UnaryOp, x: Tensor, a?: number, b?: number, outDtype: DType = x.dtype): Tensor {
  return wrap(x.backend, x.backend.unary(op, x.storage, x.size, x.dtype, outDtype, a, b), x.shape, outDtype);
}

function floatUnary(name: string, op: UnaryOp, x: Tensor, backward: (g: Tensor, out: Tensor) => Tensor, a?: number, b?: number): Tensor {
  requireFloat(name, x);
  const out = unaryRaw(op, x, a, b);
  return record(name, out, [x], (g) => [backward(g, out)]);
}

export const neg = (x: Tensor): Tensor => record('neg', unaryRaw('neg', x), [x], (g) => [neg(g)]);
export const exp = (x: Tensor) => floatUnary('exp', 'exp', x, (g, y) => mul(g, y));
export const log = (x: Tensor) => floatUnary('log', 'log', x, (g) => div(g, x));
export const sqrt = (x: Tensor) => floatUnary('sqrt', 'sqrt', x, (g, y) => div(g, mul(y, 2)));
export const abs = (x: Tensor): Tensor => record('abs', unaryRaw('abs', x), [x], (g) => [mul(g, sign(x))]);
export const sign = (x: Tensor): Tensor => unaryRaw('sign', x);
export const relu = (x: Tensor) => floatUnary('relu', 'relu', x, (g) => mul(g, unaryRaw('step', x)));
export const leakyRelu = (x: Tensor, negativeSlope = 0.01) =>
  floatUnary('leakyRelu', 'leakyRelu', x, (g) => mul(g, unaryRaw('leakyReluGrad', x, negativeSlope)), negativeSlope);
export const sigmoid = (x: Tensor) => floatUnary('sigmoid', 'sigmoid', x, (g, y) => mul(g, mul(y, rsub(1, y))));
export const tanh = (x: Tensor) => floatUnary('tanh', 'tanh', x, (g, y) => mul(g, rsub(1, mul(y, y))));
export const square = (x: Tensor): Tensor => mul(x, x);

/** x * a + b with one kernel. */
export const affine = (x: Tensor, a: number, b: number) => floatUnary('affine', 'affine', x, (g) => mul(g, a), a, b);

/** Elementwise min(max(x, min), max); the gradient flows where min <= x <= max. */
export function clamp(x: Tensor, min = -Infinity, max = Infinity): Tensor {
  requireFloat('clamp', x);
  if (min > max) throw new Error(`clamp: min (${min}) is greater than max (${max})`);
  const out = unaryRaw('clamp', x, min, max);
  return record('clamp', out, [x], (g) => [mul(g, mul(ge(x, min), le(x, max)))]);
}

/** Converts to another dtype (no gradient into int tensors). */
export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x.clone();
  const out = unaryRaw('cast', x, undefined, undefined, dtype);
  return dtype === 'int32' ? out : record('cast', out, [x], (g) => [cast(g, x.dtype)]);
}

// --- binary --------------------------------------------------------------------------

/** A number becomes a one-element tensor of the other operand's dtype (float if it is not an integer). */
function toTensor(v: Operand, like: Tensor): Tensor {
  if (typeof v !== 'number') return v;
  const dtype = like.dtype === 'int32' && !Number.isInteger(v) ? 'float32' : like.dtype;
  return full([], v, { dtype, device: like.device });
}

function promote(op: string, a: Tensor, b: Tensor): [Tensor, Tensor, DType] {
  if (a.dtype === b.dtype) return [a, b, a.dtype];
  if (a.dtype === 'int32') return [cast(a, b.dtype), b, b.dtype];
  if (b.dtype === 'int32') return [a, cast(b, a.dtype), a.dtype];
  throw new Error(`${op}: dtypes ${a.dtype} and ${b.dtype} do not mix; cast one first`);
}

function binaryRaw(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const backend = commonBackend(op, a, b);
  const outShape = broadcastShapes(op, a.shape, b.shape);
  const r = outShape.length;
  const s = backend.binary(op, a.storage, padRank(a.shape, r), b.storage, padRank(b.shape, r), outShape, a.dtype, a.dtype);
  return wrap(backend, s, outShape, a.dtype);
}

function binary(op: BinaryOp, x: Operand, y: Operand, backward?: (g: Tensor, a: Tensor, b: Tensor, out: Tensor) => [Tensor | null, Tensor | null]): Tensor {
  if (typeof x === 'number' && typeof y === 'number') throw new Error(`${op}: at least one operand must be a tensor`);
  const ta = toTensor(x, y as Tensor);
  const tb = toTensor(y, ta);
  const [a, b] = promote(op, ta, tb);
  const out = binaryRaw(op, a, b);
  if (!backward) return out;
  return record(op, out, [a, b], (g) => {
    const [ga, gb] = backward(g, a, b, out);
    return [a.requiresGrad && ga ? sumTo(ga, a.shape) : null, b.requiresGrad && gb ? sumTo(gb, b.shape) : null];
  });
}

export const add = (a: Operand, b: Operand): Tensor => binary('add', a, b, (g) => [g, g]);
export const sub = (a: Operand, b: Operand): Tensor => binary('sub', a, b, (g) => [g, neg(g)]);
export const rsub = (a: number, b: Tensor): Tensor => sub(a, b);
export const mul = (a: Operand, b: Operand): Tensor => binary('mul', a, b, (g, x, y) => [mul(g, y), mul(g, x)]);
export const div = (a: Operand, b: Operand): Tensor =>
  binary('div', a, b, (g, x, y, out) => [div(g, y), neg(div(mul(g, out), y))]);

/** a ** b. The exponent's gradient is g * out * log(a), taken as 0 where a == 0. */
export function pow(a: Operand, b: Operand): Tensor {
  if (typeof b === 'number' && typeof a !== 'number') {
    requireFloat('pow', a);
    const out = unaryRaw('powScalar', a, b);
    return record('pow', out, [a], (g) => [mul(g, mul(b, unaryRaw('powScalar', a, b - 1)))]);
  }
  return binary('pow', a, b, (g, x, y, out) => [
    mul(g, mul(y, pow(x, sub(y, 1)))),
    where(eq(x, 0), 0, mul(g, mul(out, log(x)))),
  ]);
}

/** Elementwise maximum; at ties the gradient is split evenly (as PyTorch). */
export const maximum = (a: Operand, b: Operand): Tensor =>
  binary('maximum', a, b, (g, x, y) => {
    const share = add(gt(x, y), mul(eq(x, y), 0.5));
    return [mul(g, share), mul(g, rsub(1, share))];
  });
export const minimum = (a: Operand, b: Operand): Tensor =>
  binary('minimum', a, b, (g, x, y) => {
    const share = add(lt(x, y), mul(eq(x, y), 0.5));
    return [mul(g, share), mul(g, rsub(1, share))];
  });

// Comparisons give 1 / 0 in the inputs' dtype; no gradient flows through them.
export const eq = (a: Operand, b: Operand) => binary('eq', a, b);
export const ne = (a: Operand, b: Operand) => binary('ne', a, b);
export const lt = (a: Operand, b: Operand) => binary('lt', a, b);
export const le = (a: Operand, b: Operand) => binary('le', a, b);
export const gt = (a: Operand, b: Operand) => binary('gt', a, b);
export const ge = (a: Operand, b: Operand) => binary('ge', a, b);

/** cond != 0 ? a : b, broadcasting all three. The gradient flows to a or b; none to cond. */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  const anchor = typeof a !== 'number' ? a : typeof b !== 'number' ? b : full([], 0, { device: cond.device });
  const [ta, tb] = promote('where', toTensor(a, anchor), toTensor(b, anchor));
  const backend = commonBackend('where', cond, ta, tb);
  const outShape = broadcastShapes('where', broadcastShapes('where', cond.shape, ta.shape), tb.shape);
  const r = outShape.length;
  const s = backend.where(cond.storage, padRank(cond.shape, r), cond.dtype, ta.storage, padRank(ta.shape, r), tb.storage, padRank(tb.shape, r), outShape, ta.dtype);
  const out = wrap(backend, s, outShape, ta.dtype);
  return record('where', out, [ta, tb], (g) => {
    const zero = zerosScalar(g);
    return [ta.requiresGrad ? sumTo(where(cond, g, zero), ta.shape) : null, tb.requiresGrad ? sumTo(where(cond, zero, g), tb.shape) : null];
  });
}

const zerosScalar = (like: Tensor) => full([], 0, { dtype: like.dtype, device: like.device });
