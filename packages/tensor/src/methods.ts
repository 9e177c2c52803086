/**
 * Tensor methods, PyTorch style: thin forwards to the op functions. tensor.ts attaches them
 * right after defining the class (attachMethods), so a Tensor has its methods whichever
 * module is imported first. Nothing here runs an op at load time, which keeps the import
 * cycle tensor -> methods -> ops -> tensor harmless.
 */
import type { DType } from './backend';
import type { IndexItem } from './ops/shape';
import type { Tensor } from './tensor';
import * as ew from './ops/elementwise';
import { elementwiseOps } from './ops/elementwise-op';
import * as red from './ops/reduce';
import * as sh from './ops/shape';
import { expand } from './ops/broadcast';
import { matmul } from './ops/linalg';
import { softmax, logSoftmax } from './ops/softmax';
import { zerosLike, onesLike } from './ops/creation';

type Operand = Tensor | number;

/**
 * A method per op the elementwise table exports: x.sigmoid(), x.add(y), x.softplus(beta)...
 * (internal ops are not exported, and get no method at run time either).
 */
type TableMethods = {
  [K in keyof typeof ew as (typeof ew)[K] extends { readonly op: object } ? K : never]:
    (typeof ew)[K] extends (self: never, ...rest: infer R) => Tensor ? (...rest: R) => Tensor : never;
};

/**
 * The method signatures; tensor.ts merges them into Tensor's type. (A `declare module`
 * augmentation here would be lost from the published, bundled .d.ts.)
 */
export interface TensorMethods extends TableMethods {
  pow(b: Operand): Tensor;
  square(): Tensor;
  clamp(min?: number, max?: number): Tensor;
  sum(dims?: number | number[], keepdim?: boolean): Tensor;
  mean(dims?: number | number[], keepdim?: boolean): Tensor;
  max(dims?: number | number[], keepdim?: boolean): Tensor;
  min(dims?: number | number[], keepdim?: boolean): Tensor;
  argmax(dim?: number, keepdim?: boolean): Tensor;
  argmin(dim?: number, keepdim?: boolean): Tensor;
  var(dims?: number | number[], opts?: { keepdim?: boolean; correction?: number }): Tensor;
  /** The shape as a list or, as in PyTorch, as arguments: reshape(2, -1). */
  reshape(shape: readonly number[]): Tensor;
  reshape(...shape: number[]): Tensor;
  view(shape: readonly number[]): Tensor;
  view(...shape: number[]): Tensor;
  flatten(startDim?: number, endDim?: number): Tensor;
  squeeze(dim?: number | number[]): Tensor;
  unsqueeze(dim: number): Tensor;
  permute(dims: readonly number[]): Tensor;
  permute(...dims: number[]): Tensor;
  transpose(dim0?: number, dim1?: number): Tensor;
  /** PyTorch's t(): a matrix transposed (rank 0 and 1 unchanged). */
  t(): Tensor;
  /** PyTorch's T: every dim reversed. */
  readonly T: Tensor;
  /** PyTorch's mT: the last two dims swapped. */
  readonly mT: Tensor;
  expand(shape: readonly number[]): Tensor;
  expand(...shape: number[]): Tensor;
  /** TF.js's slice (lists of begins and sizes); PyTorch's dim/start/length is narrow(). */
  slice(begin: readonly number[], size?: readonly number[]): Tensor;
  narrow(dim: number, start: number, length: number): Tensor;
  select(dim: number, index: number): Tensor;
  /** PyTorch's x[...]: index([null, [0, 4], 2]) is x[:, 0:4, 2]; see IndexItem. */
  index(items: readonly IndexItem[]): Tensor;
  gather(dim: number, index: Tensor): Tensor;
  indexSelect(dim: number, index: Tensor): Tensor;
  matmul(b: Tensor): Tensor;
  softmax(dim?: number): Tensor;
  logSoftmax(dim?: number): Tensor;
  clone(): Tensor;
  to(device: string): Tensor;
  toAsync(device: string): Promise<Tensor>;
  cast(dtype: DType): Tensor;
  float(): Tensor;
  int(): Tensor;
  zerosLike(): Tensor;
  onesLike(): Tensor;
}

/** Attaches the methods to Tensor.prototype (tensor.ts calls it once). */
export function attachMethods(P: Tensor): void {
  P.pow = function (b) { return ew.pow(this, b); };
  P.square = function () { return ew.square(this); };
  P.clamp = function (lo, hi) { return ew.clamp(this, lo, hi); };
  P.sum = function (d, k) { return red.sum(this, d, k); };
  P.mean = function (d, k) { return red.mean(this, d, k); };
  P.max = function (d, k) { return red.max(this, d, k); };
  P.min = function (d, k) { return red.min(this, d, k); };
  P.argmax = function (d, k) { return red.argmax(this, d, k); };
  P.argmin = function (d, k) { return red.argmin(this, d, k); };
  P.var = function (d, o) { return red.variance(this, d, o); };
  P.reshape = function (s: number | readonly number[], ...rest: number[]) { return sh.reshape(this, dimsOf('reshape', s, rest)); };
  P.view = function (s: number | readonly number[], ...rest: number[]) { return sh.reshape(this, dimsOf('view', s, rest)); };
  P.flatten = function (s, e) { return sh.flatten(this, s, e); };
  P.squeeze = function (d) { return sh.squeeze(this, d); };
  P.unsqueeze = function (d) { return sh.unsqueeze(this, d); };
  P.permute = function (d: number | readonly number[], ...rest: number[]) { return sh.permute(this, dimsOf('permute', d, rest)); };
  P.transpose = function (a, b) { return sh.transpose(this, a, b); };
  P.t = function () { return sh.t(this); };
  Object.defineProperty(P, 'T', { get(this: Tensor) { return sh.reverseDims(this); }, configurable: true });
  Object.defineProperty(P, 'mT', { get(this: Tensor) { return sh.mT(this); }, configurable: true });
  P.expand = function (s: number | readonly number[], ...rest: number[]) { return expand(this, dimsOf('expand', s, rest)); };
  P.slice = function (b, s) { return sh.slice(this, b, s); };
  P.narrow = function (d, s, l) { return sh.narrow(this, d, s, l); };
  P.select = function (d, i) { return sh.select(this, d, i); };
  P.index = function (items) { return sh.index(this, items); };
  P.gather = function (d, i) { return sh.gather(this, d, i); };
  P.indexSelect = function (d, i) { return sh.indexSelect(this, d, i); };
  P.matmul = function (b) { return matmul(this, b); };
  P.softmax = function (d) { return softmax(this, d); };
  P.logSoftmax = function (d) { return logSoftmax(this, d); };
  P.clone = function () { return sh.clone(this); };
  P.to = function (d) { return sh.to(this, d); };
  P.toAsync = function (d) { return sh.toAsync(this, d); };
  P.cast = function (t) { return ew.cast(this, t); };
  P.float = function () { return this.dtype === 'float32' ? this : ew.cast(this, 'float32'); };
  P.int = function () { return this.dtype === 'int32' ? this : ew.cast(this, 'int32'); };
  P.zerosLike = function () { return zerosLike(this); };
  P.onesLike = function () { return onesLike(this); };
  // The op table's methods resolve on first use: the table may still be loading when this
  // runs (when an ops module was imported first), so they are looked up, then cached.
  Object.setPrototypeOf(P, tableMethods(P));
}

/** A shape given as one list or, PyTorch style, as separate numbers. */
function dimsOf(op: string, first: number | readonly number[] | undefined, rest: number[]): readonly number[] {
  if (typeof first === 'number') return [first, ...rest];
  if (first === undefined || rest.length) throw new Error(`${op}: expects a shape as a list or as numbers, e.g. ${op}([2, -1]) or ${op}(2, -1)`);
  return first;
}

function tableMethods(P: Tensor): object {
  const method = (name: string | symbol) => {
    const fn = typeof name === 'string' ? elementwiseOps.get(name) : undefined;
    return fn && !fn.op.internal ? (fn as unknown as (self: Tensor, ...args: unknown[]) => Tensor) : undefined;
  };
  return new Proxy({}, {
    get(target, name, receiver) {
      const fn = method(name);
      if (!fn) return Reflect.get(target, name, receiver);
      const m = function (this: Tensor, ...args: unknown[]) { return fn(this, ...args); };
      Object.defineProperty(P, name, { value: m, writable: true, configurable: true });
      return m;
    },
    has: (target, name) => method(name) !== undefined || Reflect.has(target, name),
  });
}
