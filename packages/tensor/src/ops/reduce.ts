import type { ReduceOp } from '../backend';
import { record } from '../autograd';
import { normalizeDim, normalizeDims, shapesEqual, sizeOf } from '../shape';
import { Tensor } from '../tensor';
import { wrap } from './util';
import { div, eq, mul, sub } from './elementwise';
import { reshape } from './shape';
import { keptShape, reduceRaw, sum, type Dims } from './broadcast';
import { requireFloat } from './util';

export { sum, sumTo } from './broadcast';
export type { Dims } from './broadcast';

export function mean(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  requireFloat('mean', x);
  const ds = normalizeDims('mean', dims, x.rank);
  const n = sizeOf(ds.map((d) => x.shape[d]));
  return div(sum(x, ds, keepdim), n);
}

function extreme(op: 'max' | 'min', x: Tensor, dims: Dims | undefined, keepdim: boolean): Tensor {
  const ds = normalizeDims(op, dims, x.rank);
  if (x.size === 0) throw new Error(`${op}: cannot reduce an empty tensor`);
  const out = reduceRaw(op, x, ds, keepdim);
  // amax semantics: the gradient is shared evenly among tied extremes.
  return record(op, out, [x], (g) => {
    const shape = keptShape(x.shape, ds);
    const mask = eq(x, reshape(out, shape));
    const count = sum(mask, ds, true);
    return [mul(div(mask, count), reshape(g, shape))];
  }, { dims: ds, keepdim });
}

export const max = (x: Tensor, dims?: Dims, keepdim = false) => extreme('max', x, dims, keepdim);
export const min = (x: Tensor, dims?: Dims, keepdim = false) => extreme('min', x, dims, keepdim);

function argExtreme(op: 'argmax' | 'argmin', x: Tensor, dim: number | undefined, keepdim: boolean): Tensor {
  if (dim === undefined) return argExtreme(op, reshape(x, [x.size]), 0, false);
  const d = normalizeDim(op, dim, x.rank);
  if (x.shape[d] === 0) throw new Error(`${op}: dim ${dim} is empty`);
  return reduceRaw(op, x, [d], keepdim);
}

/** Index of the largest value along dim (of the flattened tensor when dim is omitted); int32. */
export const argmax = (x: Tensor, dim?: number, keepdim = false) => argExtreme('argmax', x, dim, keepdim);
export const argmin = (x: Tensor, dim?: number, keepdim = false) => argExtreme('argmin', x, dim, keepdim);

/** Variance over dims with Bessel's correction by default (PyTorch's correction=1). */
export function variance(x: Tensor, dims?: Dims, opts: { keepdim?: boolean; correction?: number } = {}): Tensor {
  requireFloat('var', x);
  const ds = normalizeDims('var', dims, x.rank);
  const n = sizeOf(ds.map((d) => x.shape[d]));
  const centred = sub(x, mean(x, ds, true));
  return div(sum(mul(centred, centred), ds, opts.keepdim ?? false), Math.max(0, n - (opts.correction ?? 1)));
}
