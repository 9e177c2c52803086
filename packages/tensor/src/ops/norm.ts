import { noGrad } from '../engine';
import { fmt } from '../shape';
import { Tensor } from '../tensor';
import { requireFloat } from './util';
import { add, affine, div, mul, sqrt, sub, ge } from './elementwise';
import { mean, sum } from './reduce';
import { reshape } from './shape';
import { rand } from './creation';

export interface BatchNormOptions {
  /** Batch statistics (and running-stat updates) when true; running statistics when false. */
  training?: boolean;
  momentum?: number;
  eps?: number;
}

/**
 * Batch normalisation over dim 1 of [N, C, ...]. In training, normalises with the batch's
 * mean and biased variance and updates the running statistics in place
 * (running = (1 − momentum)·running + momentum·batch, with the unbiased variance), as PyTorch.
 */
export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight?: Tensor | null,
  bias?: Tensor | null,
  opts: BatchNormOptions = {},
): Tensor {
  requireFloat('batchNorm', x);
  if (x.rank < 2) throw new Error(`batchNorm: input must be [N, C, ...], got ${fmt(x.shape)}`);
  const c = x.shape[1];
  for (const [name, t] of [['runningMean', runningMean], ['runningVar', runningVar], ['weight', weight], ['bias', bias]] as const) {
    if (t && (t.rank !== 1 || t.shape[0] !== c)) throw new Error(`batchNorm: ${name} must be [${c}] for input ${fmt(x.shape)}, got ${fmt(t.shape)}`);
  }
  const training = opts.training ?? false;
  const eps = opts.eps ?? 1e-5;
  const momentum = opts.momentum ?? 0.1;
  const dims = [0, ...x.shape.slice(2).map((_, i) => i + 2)];
  const bshape = x.shape.map((d, i) => (i === 1 ? d : 1));
  let centred: Tensor;
  let variance: Tensor;
  if (training) {
    const count = x.size / c;
    if (count <= 1) throw new Error(`batchNorm: training needs more than one value per channel, got input ${fmt(x.shape)}`);
    const mu = mean(x, dims, true);
    centred = sub(x, mu);
    variance = div(sum(mul(centred, centred), dims, true), count);
    if (runningMean && runningVar) {
      noGrad(() => {
        runningMean._assign(affine(runningMean, 1 - momentum, 0).add(mul(reshape(mu, [c]), momentum)));
        runningVar._assign(affine(runningVar, 1 - momentum, 0).add(mul(reshape(variance, [c]), (momentum * count) / (count - 1))));
      });
    }
  } else {
    if (!runningMean || !runningVar) throw new Error('batchNorm: evaluation mode needs runningMean and runningVar');
    centred = sub(x, reshape(runningMean, bshape));
    variance = reshape(runningVar, bshape);
  }
  let y = div(centred, sqrt(add(variance, eps)));
  if (weight) y = mul(y, reshape(weight, bshape));
  if (bias) y = add(y, reshape(bias, bshape));
  return y;
}

/** Zeroes each element with probability p in training and scales the rest by 1/(1 − p). */
export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  requireFloat('dropout', x);
  if (p < 0 || p > 1) throw new Error(`dropout: p must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x;
  if (p === 1) return mul(x, 0);
  const keepMask = ge(rand(x.shape, { device: x.device, dtype: x.dtype }), p);
  return mul(x, mul(keepMask, 1 / (1 - p)));
}
