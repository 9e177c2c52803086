import type { BatchNormCall, BatchNormParams } from '../backend';
import { record } from '../autograd';
import { fmt } from '../shape';
import { Tensor } from '../tensor';
import { commonBackend, requireFloat, wrap } from './util';
import { add, div, mul, sqrt, sub, ge } from './elementwise';
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
  const bshape = x.shape.map((d, i) => (i === 1 ? d : 1));
  if (training) {
    const count = x.size / c;
    if (count <= 1) throw new Error(`batchNorm: training needs more than one value per channel, got input ${fmt(x.shape)}`);
    return batchNormTrain(x, runningMean, runningVar, weight ?? null, bias ?? null, eps, momentum);
  }
  if (!runningMean || !runningVar) throw new Error('batchNorm: evaluation mode needs runningMean and runningVar');
  const centred = sub(x, reshape(runningMean, bshape));
  const variance = reshape(runningVar, bshape);
  let y = div(centred, sqrt(add(variance, eps)));
  if (weight) y = mul(y, reshape(weight, bshape));
  if (bias) y = add(y, reshape(bias, bshape));
  return y;
}

/**
 * Training mode: the backend's fused batch norm (statistics, normalisation and the
 * running-statistics update in one op, gradients from its fused backward).
 */
function batchNormTrain(
  x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, weight: Tensor | null, bias: Tensor | null, eps: number, momentum: number,
): Tensor {
  const [n, c] = x.shape;
  const s = x.size / (n * c);
  const count = n * s;
  const params = [...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  requireFloat('batchNorm', ...params);
  const backend = commonBackend('batchNorm', x, ...params);
  const p: BatchNormParams = { n, c, s, eps };
  const running = runningMean && runningVar;
  if (running) commonBackend('batchNorm (running statistics)', x, runningMean, runningVar);
  const call: BatchNormCall = running ? { ...p, running: { mean: runningMean.storage, var: runningVar.storage, momentum, count } } : p;
  const r = backend.batchNorm(x.storage, weight ? weight.storage : null, bias ? bias.storage : null, call, x.dtype);
  const y = wrap(backend, r.y, x.shape, x.dtype);
  const mu = wrap(backend, r.mean, [c], x.dtype);
  const invstd = wrap(backend, r.invstd, [c], x.dtype);
  if (running) {
    // New storages, taken with set_: a view of the old statistics keeps its values.
    for (const [t, s] of [[runningMean, r.runningMean!], [runningVar, r.runningVar!]] as const) {
      const fresh = wrap(backend, s, [c], x.dtype);
      t.set_(fresh);
      fresh.dispose();
    }
  }
  record('batchNorm', y, [x, ...params], (g) => {
    const gr = g.backend.batchNormBackward(g.storage, x.storage, mu.storage, invstd.storage, weight ? weight.storage : null, p, g.dtype);
    const gx = wrap(g.backend, gr.gx, x.shape, g.dtype);
    const gw = wrap(g.backend, gr.gweight, [c], g.dtype);
    const gb = wrap(g.backend, gr.gbias, [c], g.dtype);
    // The op computes all three; those no input takes are freed now.
    if (!x.requiresGrad) gx.dispose();
    if (!weight?.requiresGrad) gw.dispose();
    if (!bias?.requiresGrad) gb.dispose();
    return [x.requiresGrad ? gx : null, ...(weight ? [weight.requiresGrad ? gw : null] : []), ...(bias ? [bias.requiresGrad ? gb : null] : [])];
  });
  // No graph recorded (no gradient wanted, or inside noGrad): the statistics have no reader.
  if (y._node === null) {
    mu.dispose();
    invstd.dispose();
  }
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
