/**
 * How the op table (./elementwise) turns one declaration into everything else: `unary` and
 * `binary` take an op's name, dtype rule, expression and gradient, register it in
 * `elementwiseOps` (which backends' tests, the Tensor methods and the test case lists walk),
 * and return the differentiable op function.
 */
import { expr as E, type ElementwiseKernelOp, type Expr, type IntRule } from '@webgrad/kernels-ir';
import type { DType } from '../backend';
import { record } from '../autograd';
import { broadcastShapes, padRank } from '../shape';
import type { Tensor } from '../tensor';
import { allocate, commonBackend, requireFloat, wrap } from './util';
import { full } from './creation';
import { sumTo } from './broadcast';
import { clone } from './shape';

export type Operand = Tensor | number;

/**
 * 'float': the op takes float tensors only (an int32 input is an error that says to
 * convert it), and a backend asked to run it on int32 storage computes in float.
 * 'any': any dtype, and int32 stays exact (neg, abs, comparisons, add, mul...).
 */
export type DtypeRule = 'float' | 'any';

/** How the shared test suites exercise an op: its input domain and parameter values. */
export interface OpCheck {
  /** 'positive' for log/sqrt-like domains; 'distinct' keeps inputs away from kinks and ties. */
  input?: 'normal' | 'positive' | 'distinct';
  /** Parameter values for the tests (else the defaults). */
  args?: number[];
  /** gradcheck tolerance, for ops whose float64 rendering is only float32-accurate. */
  atol?: number;
}

/** A parameter of the op: its name (for docs and layers) and default value. */
export type Param = readonly [name: string, defaultValue: number];
type Params = readonly Param[];
type ParamArgs<P extends Params> = P extends readonly [] ? [] : P extends readonly [Param] ? [a?: number] : [a?: number, b?: number];

export interface UnaryDecl<P extends Params> {
  dtypes: DtypeRule;
  /** The value in x and the parameters a, b (in the order of `params`). */
  expr: Expr;
  params?: P;
  /** d loss / d x from the upstream gradient g, the input x and the output. No grad: not differentiable. */
  grad?: (g: Tensor, x: Tensor, out: Tensor, a: number, b: number) => Tensor;
  /** A building block of other ops (a gradient, a dispatching function): no Tensor method. */
  internal?: boolean;
  check?: OpCheck;
}

export interface BinaryDecl {
  dtypes: DtypeRule;
  /** The value in x and y (after broadcasting and dtype promotion). */
  expr: Expr;
  /** Gradients for x and y before summing back over broadcast dims (null: none). */
  grad?: (g: Tensor, x: Tensor, y: Tensor, out: Tensor) => [Tensor | null, Tensor | null];
  internal?: boolean;
  check?: OpCheck;
}

/** A registered op: what backends render (ElementwiseKernelOp) plus its declaration. */
export type UnaryOpDef = ElementwiseKernelOp & UnaryDecl<Params> & { arity: 1; params: Params };
export type BinaryOpDef = ElementwiseKernelOp & BinaryDecl & { arity: 2 };

export type UnaryFunction<P extends Params = Params> = ((x: Tensor, ...args: ParamArgs<P>) => Tensor) & { readonly op: UnaryOpDef };
export type BinaryFunction = ((a: Operand, b: Operand) => Tensor) & { readonly op: BinaryOpDef };

/** Every elementwise op in declaration order: its op function, which carries the declaration as `op`. */
export const elementwiseOps = new Map<string, { readonly op: UnaryOpDef | BinaryOpDef }>();

const intRule = (d: DtypeRule): IntRule => (d === 'any' ? 'exact' : 'float');

function register<F extends { readonly op: UnaryOpDef | BinaryOpDef }>(fn: F): F {
  if (elementwiseOps.has(fn.op.name)) throw new Error(`elementwise op '${fn.op.name}' is declared twice`);
  elementwiseOps.set(fn.op.name, fn);
  return fn;
}

const castOp: UnaryOpDef = { name: 'cast', arity: 1, expr: E.x, ints: 'exact', dtypes: 'any', params: [], internal: true };

/** Converts to another dtype (float -> int truncates toward zero); no gradient into int tensors. */
export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return clone(x);
  const out = unaryRaw(castOp, x, 0, 0, dtype);
  return dtype === 'int32' ? out : record('cast', out, [x], (g) => [cast(g, x.dtype)]);
}
register(Object.assign(cast, { op: castOp }));

/** Runs a unary op's kernel on x, without recording a gradient. */
export function unaryRaw(op: ElementwiseKernelOp, x: Tensor, a = 0, b = 0, outDtype: DType = x.dtype): Tensor {
  return wrap(x.backend, allocate(op.name, x.shape, () => x.backend.unary(op, x.storage, x.size, x.dtype, outDtype, a, b)), x.shape, outDtype);
}

export function unary<const P extends Params = []>(name: string, decl: UnaryDecl<P>): UnaryFunction<P> {
  const params: Params = decl.params ?? [];
  const op: UnaryOpDef = { ...decl, name, arity: 1, ints: intRule(decl.dtypes), params };
  const fn = (x: Tensor, ...args: (number | undefined)[]): Tensor => {
    if (decl.dtypes === 'float') requireFloat(name, x);
    const a = args[0] ?? params[0]?.[1] ?? 0;
    const b = args[1] ?? params[1]?.[1] ?? 0;
    const out = unaryRaw(op, x, a, b);
    const grad = decl.grad;
    if (!grad) return out;
    const attrs = params.length ? Object.fromEntries(params.map(([p], i) => [p, i === 0 ? a : b])) : undefined;
    return record(name, out, [x], (g) => [grad(g, x, out, a, b)], attrs);
  };
  return register(Object.assign(fn, { op }) as unknown as UnaryFunction<P>);
}

// --- binary --------------------------------------------------------------------------

/** A number becomes a one-element tensor of the other operand's dtype (float if it is not an integer). */
export function toTensor(v: Operand, like: Tensor): Tensor {
  if (typeof v !== 'number') return v;
  const dtype = like.dtype === 'int32' && !Number.isInteger(v) ? 'float32' : like.dtype;
  return full([], v, { dtype, device: like.device });
}

/** Converts an int32 operand to the other's float dtype; two floats must match. */
export function promote(op: string, a: Tensor, b: Tensor): [Tensor, Tensor, DType] {
  if (a.dtype === b.dtype) return [a, b, a.dtype];
  if (a.dtype === 'int32') return [cast(a, b.dtype), b, b.dtype];
  if (b.dtype === 'int32') return [a, cast(b, a.dtype), a.dtype];
  throw new Error(`${op}: dtypes ${a.dtype} and ${b.dtype} do not mix; cast one first`);
}

function binaryRaw(op: BinaryOpDef, a: Tensor, b: Tensor): Tensor {
  const backend = commonBackend(op.name, a, b);
  const outShape = broadcastShapes(op.name, a.shape, b.shape);
  const r = outShape.length;
  const s = allocate(op.name, outShape, () => backend.binary(op, a.storage, padRank(a.shape, r), b.storage, padRank(b.shape, r), outShape, a.dtype, a.dtype));
  return wrap(backend, s, outShape, a.dtype);
}

/** A broadcasting binary op; an int32 operand is promoted to the other's float dtype. */
export function binary(name: string, decl: BinaryDecl): BinaryFunction {
  const op: BinaryOpDef = { ...decl, name, arity: 2, ints: intRule(decl.dtypes) };
  const fn = (x: Operand, y: Operand): Tensor => {
    if (typeof x === 'number' && typeof y === 'number') throw new Error(`${name}: at least one operand must be a tensor`);
    const ta = toTensor(x, y as Tensor);
    const tb = toTensor(y, ta);
    const [a, b] = promote(name, ta, tb);
    if (decl.dtypes === 'float') requireFloat(name, a);
    const out = binaryRaw(op, a, b);
    const grad = decl.grad;
    if (!grad) return out;
    return record(name, out, [a, b], (g) => {
      const [ga, gb] = grad(g, a, b, out);
      return [a.requiresGrad && ga ? sumTo(ga, a.shape) : null, b.requiresGrad && gb ? sumTo(gb, b.shape) : null];
    });
  };
  return register(Object.assign(fn, { op }));
}
