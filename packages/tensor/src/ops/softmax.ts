import { record } from '../autograd';
import { normalizeDim } from '../shape';
import { Tensor } from '../tensor';
import { requireFloat, wrap } from './util';
import { exp, mul, sub } from './elementwise';
import { sum } from './reduce';
import { reshape, transpose } from './shape';

function softmaxLast(x: Tensor, log: boolean): Tensor {
  const cols = x.shape[x.rank - 1] ?? 1;
  const rows = cols === 0 ? 0 : x.size / cols;
  const out = wrap(x.backend, x.backend.softmax(x.storage, rows, cols, log, x.dtype), x.shape, x.dtype);
  return record(log ? 'logSoftmax' : 'softmax', out, [x], (g) =>
    log ? [sub(g, mul(exp(out), sum(g, -1, true)))] : [mul(out, sub(g, sum(mul(g, out), -1, true)))],
  );
}

function alongDim(op: string, x: Tensor, dim: number, log: boolean): Tensor {
  requireFloat(op, x);
  if (x.rank === 0) return reshape(softmaxLast(reshape(x, [1]), log), []);
  const d = normalizeDim(op, dim, x.rank);
  if (d === x.rank - 1) return softmaxLast(x, log);
  return transpose(softmaxLast(transpose(x, d, -1), log), d, -1);
}

export const softmax = (x: Tensor, dim = -1) => alongDim('softmax', x, dim, false);
export const logSoftmax = (x: Tensor, dim = -1) => alongDim('logSoftmax', x, dim, true);
