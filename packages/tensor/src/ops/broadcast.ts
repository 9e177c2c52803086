/**
 * Broadcasting and its adjoint: expand copies size-1 dims out, sum / sumTo add them back.
 * Each one's gradient is the other, so they live together (and below the other ops, which
 * use sumTo for their broadcast gradients).
 */
import type { ReduceOp } from '../backend';
import { record } from '../autograd';
import { fmt, normalizeDims, shapesEqual, stridesOf } from '../shape';
import type { Tensor } from '../tensor';
import { stridedCopy, wrap } from './util';
import { reshape } from './shape';

export type Dims = number | number[];

export function keptShape(shape: readonly number[], dims: number[]): number[] {
  return shape.map((d, i) => (dims.includes(i) ? 1 : d));
}

export function reduceRaw(op: ReduceOp, x: Tensor, dims: number[], keepdim: boolean): Tensor {
  const s = x.backend.reduce(op, x.storage, x.shape, dims, x.dtype);
  const shape = keepdim ? keptShape(x.shape, dims) : x.shape.filter((_, i) => !dims.includes(i));
  const dtype = op === 'argmax' || op === 'argmin' ? 'int32' : x.dtype;
  return wrap(x.backend, s, shape, dtype);
}

/** Sum over dims (all when omitted). */
export function sum(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  const ds = normalizeDims('sum', dims, x.rank);
  const out = reduceRaw('sum', x, ds, keepdim);
  return record('sum', out, [x], (g) => [expand(reshape(g, keptShape(x.shape, ds)), x.shape)], { dims: ds, keepdim });
}

/** Broadcasts size-1 dims to `shape` (-1 keeps a dim); materialised as a copy. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  if (shape.length < x.rank) throw new Error(`expand: target ${fmt(shape)} has fewer dims than ${fmt(x.shape)}`);
  const lead = shape.length - x.rank;
  const src = stridesOf(x.shape);
  const target = shape.map((d, i) => (i >= lead && d === -1 ? x.shape[i - lead] : d));
  const strides = target.map((d, i) => {
    if (i < lead) return 0;
    const own = x.shape[i - lead];
    if (own === d) return src[i - lead];
    if (own === 1) return 0;
    throw new Error(`expand: cannot expand ${fmt(x.shape)} to ${fmt(shape)}: dim ${i} is ${own}, not 1 or ${d}`);
  });
  if (shapesEqual(target, x.shape)) return reshape(x, x.shape);
  const out = stridedCopy(x, target, strides, 0);
  return record('expand', out, [x], (g) => [sumTo(g, x.shape)]);
}


/** Sums a broadcast gradient back down to `shape` (the adjoint of broadcasting). */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) dims.push(i);
  }
  return reshape(sum(g, dims, false), shape);
}
