/**
 * Hard-label cross-entropy of a [rows, cols] logits matrix and its gradient, in double
 * precision per row (stored at the arrays' precision), numerically stable (row max
 * subtracted). The WebGPU kernels (kernels-wgsl cross-entropy.ts) compute the same formulas.
 */
import type { CrossEntropyParams } from '@webgrad/kernels-ir';
import type { FloatArray } from './matmul';
import { rowLogSumExp, rowMax } from './softmax';

/**
 * Per row: lse = max + log Σ exp(x − max), nll = lse − x[t], and with ε > 0 the loss
 * (1 − ε)·nll + ε·(lse − Σ x / cols), as PyTorch writes it (so 0·∞ is NaN where PyTorch's is).
 * A NaN logit, a +∞ one or a row of −∞ gives NaN; a target outside [0, cols) gives NaN (the
 * op layer rejects one before this runs, except while a jit traces). `lse` gets each row's
 * lse; `loss` the row losses ('none') or their mean or sum in loss[0] (the mean of no rows is NaN).
 */
export function crossEntropy(x: FloatArray, target: Int32Array, rows: number, cols: number, p: CrossEntropyParams, loss: FloatArray, lse: FloatArray): void {
  const eps = p.labelSmoothing;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const l = rowLogSumExp(x, o, cols, rowMax(x, o, cols));
    let sumX = 0;
    if (eps > 0) for (let j = 0; j < cols; j++) sumX += x[o + j];
    lse[r] = l;
    const t = target[r];
    const nll = l - (t >= 0 && t < cols ? x[o + t] : NaN);
    const rowLoss = eps > 0 ? (1 - eps) * nll + eps * (l - sumX / cols) : nll;
    if (p.reduction === 'none') loss[r] = rowLoss;
    else total += rowLoss;
  }
  if (p.reduction !== 'none') loss[0] = p.reduction === 'mean' ? total / rows : total;
}

/**
 * gx[r, c] = (exp(x[r, c] − lse[r]) − (1 − ε)·[c = t[r]] − ε / cols) · g_r, with g_r = g[0] / rows
 * ('mean'), g[0] ('sum') or g[r] ('none'), written into gx.
 */
export function crossEntropyBackward(g: FloatArray, x: FloatArray, lse: FloatArray, target: Int32Array, rows: number, cols: number, p: CrossEntropyParams, gx: FloatArray): void {
  const eps = p.labelSmoothing;
  const hit = 1 - eps, spread = eps / cols;
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const gr = p.reduction === 'none' ? g[r] : p.reduction === 'mean' ? g[0] / rows : g[0];
    const l = lse[r], t = target[r];
    for (let j = 0; j < cols; j++) gx[o + j] = (Math.exp(x[o + j] - l) - (j === t ? hit : 0) - spread) * gr;
  }
}
