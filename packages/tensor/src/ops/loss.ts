import { record } from '../autograd';
import type { CrossEntropyParams } from '../backend';
import { isTracing } from '../jit/state';
import { fmt, shapesEqual } from '../shape';
import { Tensor } from '../tensor';
import { commonBackend, requireFloat, requireInt, wrap } from './util';
import { abs, mul, neg, sub, add } from './elementwise';
import { mean, sum } from './reduce';
import { gather, permute, reshape, squeeze, unsqueeze } from './shape';
import { logSoftmax } from './softmax';

export type Reduction = 'mean' | 'sum' | 'none';

function checkReduction(op: string, reduction: Reduction): Reduction {
  if (reduction === 'mean' || reduction === 'sum' || reduction === 'none') return reduction;
  throw new Error(`${op}: reduction must be 'mean', 'sum' or 'none', got '${reduction}'`);
}

function reduceLoss(op: string, loss: Tensor, reduction: Reduction): Tensor {
  checkReduction(op, reduction);
  if (reduction === 'mean') return mean(loss);
  if (reduction === 'sum') return sum(loss);
  return loss;
}

export interface CrossEntropyOptions {
  reduction?: Reduction;
  /** ε: the target becomes (1 − ε)·onehot + ε/C (PyTorch's label_smoothing). */
  labelSmoothing?: number;
}

/**
 * Cross-entropy from logits [N, C] (or [N, C, d1, ...]) and either class indices [N] (or
 * [N, d1, ...]), int32, or class probabilities shaped like the logits, float (soft labels,
 * one-hot rows; PyTorch ≥ 1.10). With label smoothing ε: (1 − ε)·nll + ε·mean over classes
 * of −log p, i.e. the target (1 − ε)·target + ε/C.
 */
export function crossEntropy(logits: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  requireFloat('crossEntropy', logits);
  const eps = opts.labelSmoothing ?? 0;
  if (eps < 0 || eps > 1) throw new Error(`crossEntropy: labelSmoothing must be in [0, 1], got ${eps}`);
  if (logits.rank < 1) throw new Error(`crossEntropy: logits must be [N, C, ...], got ${fmt(logits.shape)}`);
  const classes = logits.rank === 1 ? logits.shape[0] : logits.shape[1];
  const expected = logits.rank === 1 ? [] : [logits.shape[0], ...logits.shape.slice(2)];
  if (target.dtype !== 'int32') return softCrossEntropy(logits, target, expected, eps, opts.reduction ?? 'mean');
  if (logits.rank > 1 && shapesEqual(target.shape, logits.shape)) {
    throw new Error(`crossEntropy: target ${fmt(target.shape)} is int32 and shaped like logits ${fmt(logits.shape)}: for one-hot labels pass class indices, target.argmax(1), or probabilities, target.float()`);
  }
  if (!shapesEqual(target.shape, expected)) {
    throw new Error(`crossEntropy: target ${fmt(target.shape)} must be ${fmt(expected)} for logits ${fmt(logits.shape)}`);
  }
  commonBackend('crossEntropy', logits, target);
  // Not while a jit traces: a replay could not repeat the check (as on webgpu, where no
  // synchronous read exists, the backend then gives that row a NaN loss).
  if (target.backend.readSync && !isTracing()) {
    const t = target.dataSync();
    for (let i = 0; i < t.length; i++) {
      if (t[i] < 0 || t[i] >= classes) throw new Error(`crossEntropy: target ${t[i]} at position ${i} is out of range for ${classes} classes`);
    }
  }
  // Classes last, everything else flattened into rows.
  let rows = logits;
  if (logits.rank === 1) rows = reshape(logits, [1, classes]);
  else if (logits.rank > 2) rows = reshape(permute(logits, [0, ...logits.shape.slice(2).map((_, i) => i + 2), 1]), [-1, classes]);
  return indexCrossEntropy(rows, reshape(target, [-1]), expected, { reduction: checkReduction('crossEntropy', opts.reduction ?? 'mean'), labelSmoothing: eps });
}

/**
 * crossEntropy of logits rows [N, C] against class indices [N]: the backend's fused op, one
 * call forward (the mean or sum included) and one backward, where composed ops take a dozen.
 */
function indexCrossEntropy(rows: Tensor, index: Tensor, lossShape: number[], p: CrossEntropyParams): Tensor {
  const backend = rows.backend;
  const [n, c] = rows.shape;
  const r = backend.crossEntropy(rows.storage, index.storage, n, c, p, rows.dtype);
  const loss = wrap(backend, r.loss, p.reduction === 'none' ? lossShape : [], rows.dtype);
  const lse = wrap(backend, r.lse, [n], rows.dtype);
  record('crossEntropy', loss, [rows], (g) =>
    [wrap(g.backend, g.backend.crossEntropyBackward(g.storage, rows.storage, lse.storage, index.storage, n, c, p, g.dtype), rows.shape, g.dtype)]);
  // No graph recorded (no gradient wanted, or inside noGrad): the row lse has no reader.
  if (loss._node === null) lse.dispose();
  return loss;
}

/** crossEntropy against class probabilities: −Σ_c target_c · log softmax(logits)_c. */
function softCrossEntropy(logits: Tensor, target: Tensor, indexShape: number[], eps: number, reduction: Reduction): Tensor {
  requireFloat('crossEntropy', target);
  if (!shapesEqual(target.shape, logits.shape)) {
    let hint = `class probabilities must be shaped like logits ${fmt(logits.shape)}, class indices ${fmt(indexShape)} and int32`;
    if (shapesEqual(target.shape, indexShape)) {
      const values = target.backend.readSync ? target.dataSync() : null;
      const integral = values && values.every((v) => Number.isInteger(v) && v >= 0);
      hint = `${integral ? 'its values look like class indices' : 'it is shaped like class indices'}: cast it with target.int() (torch's long), or for one-hot rows shaped like logits keep them float (argmax(1) gives indices)`;
    }
    throw new Error(`crossEntropy: target ${fmt(target.shape)} is ${target.dtype}; ${hint}`);
  }
  const dim = logits.rank === 1 ? 0 : 1;
  const probs = eps > 0 ? add(mul(target, 1 - eps), eps / logits.shape[dim]) : target;
  const loss = neg(sum(mul(probs, logSoftmax(logits, dim)), dim));
  return reduceLoss('crossEntropy', loss, reduction);
}

/** Negative log-likelihood from log-probabilities [N, C] and int32 targets [N]. */
export function nllLoss(logp: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  requireInt('nllLoss', 'target', target);
  const loss = neg(squeeze(gather(logp, 1, unsqueeze(target, 1)), 1));
  return reduceLoss('nllLoss', loss, opts.reduction ?? 'mean');
}

function checkSameShape(op: string, a: Tensor, b: Tensor): void {
  if (!shapesEqual(a.shape, b.shape)) throw new Error(`${op}: input ${fmt(a.shape)} and target ${fmt(b.shape)} must have the same shape`);
}

export function mseLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  requireFloat('mseLoss', input, target);
  checkSameShape('mseLoss', input, target);
  const d = sub(input, target);
  return reduceLoss('mseLoss', mul(d, d), opts.reduction ?? 'mean');
}

export function l1Loss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  requireFloat('l1Loss', input, target);
  checkSameShape('l1Loss', input, target);
  return reduceLoss('l1Loss', abs(sub(input, target)), opts.reduction ?? 'mean');
}
